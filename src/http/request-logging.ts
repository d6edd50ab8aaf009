import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { RequestObserver } from './metrics.js';

const ABOVE_INFO = new Set(['warn', 'error', 'fatal', 'silent']);

export interface AccessLogOptions {
  /** `all`: a line per request; `slow`: only requests slower than `slowMs` or answered 5xx; `off`: none. */
  readonly mode: 'all' | 'slow' | 'off';
  readonly slowMs: number;
}

/**
 * The access log: a line after a request completes, with method, route pattern, status and
 * duration, under the correlation id. Fastify's default lines would add the client's IP address and
 * the raw URL (query strings can carry tokens), so neither is logged.
 *
 * By default (`slow`) only the requests an operator has to look at get a line: slow ones and those
 * answered 5xx. A line per request cost the hot path a measurable share of its throughput (see
 * docs/performance.md) and buries the lines that matter; counts and latencies of every request are
 * in the metrics (`personae_http_request_duration_seconds`). `ACCESS_LOG=all` brings every line back.
 * Errors are logged whatever the mode: the error handler writes them, and so does this controller
 * when Fastify reports one.
 *
 * Fastify calls `requestCompleted` once for every request, matched or not, so `observe` (the request
 * metrics) is called from here too: the same accounting as a global onResponse hook, without the hook
 * chain Fastify would then run for every request.
 */
export class RequestLogging extends LogController {
  readonly #all: boolean;
  readonly #off: boolean;
  readonly #slowMs: number;
  readonly #observe: RequestObserver | undefined;

  constructor(options: AccessLogOptions, observe?: RequestObserver) {
    super({ requestIdLogLabel: 'correlationId' });
    this.#all = options.mode === 'all';
    this.#off = options.mode === 'off';
    this.#slowMs = options.slowMs;
    this.#observe = observe;
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    this.#observe?.(request, reply);
    if (!error && !this.#all && (this.#off || (reply.statusCode < 500 && reply.elapsedTime < this.#slowMs))) return;
    if (!error && ABOVE_INFO.has(reply.log.level)) return; // nothing would be written: build nothing
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request failed');
    else reply.log.info(line, 'request completed');
  }
}

import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
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
 * chain Fastify would then run for every request. The GET /session fast lane, which answers before
 * Fastify, reports through `answeredBeforeFastify`.
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
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    this.#observe?.(request.method, route, reply.statusCode, reply.elapsedTime);
    if (this.#writes(error, reply.statusCode, reply.elapsedTime, reply.log)) {
      writeLine(reply.log, error, request.method, route, reply.statusCode, reply.elapsedTime);
    }
  }

  /** A request the GET /session fast lane answered before Fastify: the same metrics, and the same line. */
  answeredBeforeFastify(
    logger: FastifyBaseLogger,
    correlationId: string,
    method: string,
    route: string,
    statusCode: number,
    elapsedMs: number,
  ): void {
    this.#observe?.(method, route, statusCode, elapsedMs);
    if (this.#writes(null, statusCode, elapsedMs, logger)) {
      writeLine(logger.child({ correlationId }), null, method, route, statusCode, elapsedMs);
    }
  }

  #writes(error: Error | null, statusCode: number, elapsedMs: number, log: FastifyBaseLogger): boolean {
    if (!error && !this.#all && (this.#off || (statusCode < 500 && elapsedMs < this.#slowMs))) return false;
    return error !== null || !ABOVE_INFO.has(log.level); // nothing would be written: build nothing
  }
}

function writeLine(log: FastifyBaseLogger, error: Error | null, method: string, route: string, statusCode: number, elapsedMs: number): void {
  const line = { method, route, statusCode, ms: Math.round(elapsedMs * 100) / 100 };
  if (error) log.error({ ...line, err: error }, 'request failed');
  else log.info(line, 'request completed');
}

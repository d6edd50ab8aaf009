import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

const ABOVE_INFO = new Set(['warn', 'error', 'fatal', 'silent']);

/**
 * One log line per request, after it completes: method, route pattern, status and duration, under
 * the correlation id. Fastify's default lines would add the client's IP address and the raw URL
 * (query strings can carry tokens), so neither is logged.
 */
export class RequestLogging extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'correlationId' });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
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

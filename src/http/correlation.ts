import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

export const CORRELATION_HEADER = 'x-correlation-id';

/** What a caller may send as its own correlation id: short, printable, nothing that could smuggle. */
const WELL_FORMED = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/;

/** Keeps a well-formed incoming id so a call can be followed across services; otherwise makes one. */
export function correlationIdOf(request: IncomingMessage): string {
  const incoming = request.headers[CORRELATION_HEADER];
  return typeof incoming === 'string' && WELL_FORMED.test(incoming) ? incoming : randomUUID();
}

/** Every answer carries its correlation id, and no shared cache may keep it (it describes a person). */
export function markEveryAnswer(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(CORRELATION_HEADER, request.id);
    reply.header('cache-control', 'no-store');
    done();
  });
}

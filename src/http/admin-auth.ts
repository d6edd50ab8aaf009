import type { FastifyInstance, FastifyRequest } from 'fastify';
import { secretsEqual } from '../crypto/secret-compare.js';
import { sendError } from './error-handler.js';

/** The bearer credential of a request, or undefined. */
export function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return undefined;
  return header.slice('Bearer '.length).trim();
}

/** Guards a scope with the operator's admin token, compared in constant time. */
export function requireAdminToken(app: FastifyInstance, adminToken: string): void {
  app.addHook('onRequest', async (request, reply) => {
    const given = bearerOf(request);
    if (given === undefined || !secretsEqual(given, adminToken)) {
      return sendError(request, reply, 'ADMIN_UNAUTHORIZED', 'A valid admin token is required (Authorization: Bearer …).');
    }
  });
}

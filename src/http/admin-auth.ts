import type { FastifyInstance, FastifyRequest } from 'fastify';
import { secretsEqual } from '../crypto/secret-compare.js';
import type { AdminRole } from '../modules/admins/admin.js';
import { sendError } from './error-handler.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The admin behind the request (set on every route of the admin scope). */
    admin: AdminIdentity;
  }
  interface FastifyContextConfig {
    /** The role an admin route needs; `moderator` when not given (an `admin` may do everything). */
    adminRole?: AdminRole;
  }
}

export interface AdminIdentity {
  /** What audit rows name as the actor: `admin` for the bootstrap token, `admin-token:<id>` otherwise. */
  readonly actor: string;
  readonly role: AdminRole;
}

/** The bearer credential of a request, or undefined. */
export function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return undefined;
  return header.slice('Bearer '.length).trim();
}

/** Guards a scope with the operator's admin token, compared in constant time. */
export function requireAdminToken(app: FastifyInstance, adminToken: string): void {
  app.decorateRequest('admin', null as unknown as AdminIdentity);
  app.addHook('onRequest', async (request, reply) => {
    const given = bearerOf(request);
    if (given === undefined || !secretsEqual(given, adminToken)) {
      return sendError(request, reply, 'ADMIN_UNAUTHORIZED', 'A valid admin token is required (Authorization: Bearer …).');
    }
    request.admin = { actor: 'admin', role: 'admin' };
  });
}

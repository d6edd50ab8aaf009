import type { FastifyInstance, FastifyRequest } from 'fastify';
import { roleAllows, type AdminIdentity, type AdminRole } from '../modules/admins/admin.js';
import { sendError } from './error-handler.js';

export type { AdminIdentity } from '../modules/admins/admin.js';

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

/** The bearer credential of a request, or undefined. */
export function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return undefined;
  return header.slice('Bearer '.length).trim();
}

/** Finds the admin behind a bearer credential (the bootstrap token or a stored, unrevoked one). */
export type AdminAuthenticator = (bearer: string) => Promise<AdminIdentity | null>;

/**
 * Guards a scope with admin tokens: every request must bear one (401 ADMIN_UNAUTHORIZED), and its
 * role must be enough for the route's `config.adminRole` (403 ADMIN_FORBIDDEN). It runs before the
 * body is validated, so nothing about a route's input is revealed to a caller without a token.
 */
export function requireAdminToken(app: FastifyInstance, authenticate: AdminAuthenticator): void {
  app.decorateRequest('admin', null as unknown as AdminIdentity);
  app.addHook('onRequest', async (request, reply) => {
    const given = bearerOf(request);
    const admin = given ? await authenticate(given) : null;
    if (!admin) {
      return sendError(request, reply, 'ADMIN_UNAUTHORIZED', 'A valid admin token is required (Authorization: Bearer …).');
    }
    const needed = request.routeOptions.config.adminRole ?? 'moderator';
    if (!roleAllows(admin.role, needed)) {
      return sendError(request, reply, 'ADMIN_FORBIDDEN', `This needs an admin token with the ${needed} role.`);
    }
    request.admin = admin;
  });
}

/** Who audit rows name for this request: the admin behind it, and the request's correlation id. */
export function adminActor(request: FastifyRequest): { readonly actor: string; readonly correlationId: string } {
  return { actor: request.admin.actor, correlationId: request.id };
}

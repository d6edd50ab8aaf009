import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import type { SessionService } from '../modules/sessions/session-service.js';
import { anonTokenOf, type AnonToken, type Unsign } from './anon-cookie.js';
import { sendError } from './error-handler.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The visitor's anonymous token (set on every route of the visitor scope). */
    anon: AnonToken;
  }
  interface FastifyContextConfig {
    /** Lets a banned person still do this (deleting their own data is a right a ban does not remove). */
    allowWhenBanned?: boolean;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The routes browsers call on a visitor's behalf: each gets the `anon_id` cookie (issued when
 * missing), and a banned person's state-changing requests stop here with 403 BANNED. The ban check
 * reads the database, not the cache, so it holds on every node from the very next request.
 * The hooks are callback-style: they run on the hot path, where a promise per hook is measurable.
 */
export function registerVisitorScope(app: FastifyInstance, sessions: SessionService, clock: Clock): void {
  const unsign: Unsign = (value) => app.unsignCookie(value);
  app.decorateRequest('anon', null as unknown as AnonToken);
  app.addHook('onRequest', (request, reply, done) => {
    try {
      request.anon = anonTokenOf(request, reply, unsign, Math.floor(clock.now().getTime() / 1000));
    } catch (error) {
      return done(error as Error);
    }
    done();
  });
  app.addHook('preHandler', (request, reply, done) => {
    if (SAFE_METHODS.has(request.method) || request.anon.isNew || request.routeOptions.config.allowWhenBanned) {
      return done();
    }
    sessions.resolve(request.anon.token, { fresh: true }).then((caller) => {
      if (caller?.banned) {
        sendError(request, reply, 'BANNED', 'This identity is banned from making changes.');
        return;
      }
      done();
    }, done);
  });
}

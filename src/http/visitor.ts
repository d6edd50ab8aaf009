import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { SessionContext } from '../modules/sessions/session.js';
import type { SessionService } from '../modules/sessions/session-service.js';
import { anonTokenOf, type AnonToken, type Unsign } from './anon-cookie.js';
import { sendError } from './error-handler.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The visitor's anonymous token (set on every route of the visitor scope). */
    anon: AnonToken;
    /**
     * The caller, read fresh from the database (never the cache) and memoized for the request.
     * Without a session it fails with SESSION_REQUIRED, unless `start` is set: then a guest identity
     * is started first (anonymous-first: everything works without signing in).
     */
    caller(options?: { readonly start?: boolean }): Promise<SessionContext>;
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
  // Set per request in onRequest: a decorator's initial value would be shared by every request.
  app.decorateRequest('caller', null as unknown as FastifyRequest['caller']);
  app.addHook('onRequest', (request, reply, done) => {
    try {
      request.anon = anonTokenOf(request, reply, unsign, Math.floor(clock.now().getTime() / 1000));
      request.caller = callerResolver(request, sessions);
    } catch (error) {
      return done(error as Error);
    }
    done();
  });
  app.addHook('preHandler', (request, reply, done) => {
    if (SAFE_METHODS.has(request.method) || request.anon.isNew || request.routeOptions.config.allowWhenBanned) {
      return done();
    }
    request.caller({ start: false }).then((caller) => {
      if (caller.banned) {
        sendError(request, reply, 'BANNED', 'This identity is banned from making changes.');
        return;
      }
      done();
    }, (error: unknown) => (error instanceof AppError && error.code === 'SESSION_REQUIRED' ? done() : done(error as Error)));
  });
}

function callerResolver(request: FastifyRequest, sessions: SessionService): FastifyRequest['caller'] {
  let known: SessionContext | null = null;
  return async (options) => {
    if (known) return known;
    const found = request.anon.isNew ? null : await sessions.resolve(request.anon.token, { fresh: true });
    if (found) return (known = found);
    if (!options?.start) throw new AppError('SESSION_REQUIRED', 'Start a session first (POST /session) or sign in.');
    known = (await sessions.startGuest(request.anon.token)).context;
    return known;
  };
}

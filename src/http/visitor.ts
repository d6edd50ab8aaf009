import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { SessionContext } from '../modules/sessions/session.js';
import type { SessionService } from '../modules/sessions/session-service.js';
import { anonTokenOf, type AnonToken, type Unsign } from './anon-cookie.js';
import { sendError } from './error-handler.js';
import { attachToRoutes, changesState, SAFE_METHODS } from './route-hooks.js';
import { clearSessionCookie, sessionTokenOf } from './session-cookie.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The visitor's anonymous token (set on every route of the visitor scope). */
    anon: AnonToken;
    /**
     * The token of the signed-in session cookie (its signature checked), or null. Whether the
     * session is still alive is decided when the caller is resolved.
     */
    sessionToken: string | null;
    /** The bearer access token (API clients) from the Authorization header, not yet verified; or null. */
    accessToken: string | null;
    /**
     * The caller, read fresh from the database (never the cache) and memoized for the request: the
     * signed-in session when there is a live one, else the guest behind `anon_id`. Without either it
     * fails with SESSION_REQUIRED, unless `start` is set: then a guest identity is started first
     * (anonymous-first: everything works without signing in).
     */
    caller(options?: { readonly start?: boolean; readonly cached?: boolean }): Promise<SessionContext>;
  }
  interface FastifyContextConfig {
    /** Lets a banned person still do this (deleting their own data is a right a ban does not remove). */
    allowWhenBanned?: boolean;
  }
}

/**
 * The routes browsers call on a visitor's behalf: each gets the `anon_id` cookie (issued when
 * missing), and a banned person's state-changing requests stop here with 403 BANNED. The ban check
 * reads the database, not the cache, so it holds on every node from the very next request.
 * The hooks are callback-style: they run on the hot path, where a promise per hook is measurable.
 * The ban check is attached, as routes are declared, to those that can change state and do not
 * allow it while banned: reads run no hook for it. Call this before declaring the scope's routes.
 */
export function registerVisitorScope(app: FastifyInstance, sessions: SessionService, accessTokens: AccessTokenVerifier, clock: Clock): void {
  const unsign: Unsign = (value) => app.unsignCookie(value);
  app.decorateRequest('anon', null as unknown as AnonToken);
  app.decorateRequest('sessionToken', null);
  app.decorateRequest('accessToken', null);
  // Set per request in onRequest: a decorator's initial value would be shared by every request.
  app.decorateRequest('caller', null as unknown as FastifyRequest['caller']);
  app.addHook('onRequest', (request, reply, done) => {
    try {
      request.anon = anonTokenOf(request, reply, unsign, Math.floor(clock.now().getTime() / 1000));
      request.sessionToken = sessionTokenOf(request, reply, unsign);
      request.accessToken = bearerTokenOf(request);
      request.caller = callerResolver(request, reply, sessions, accessTokens);
    } catch (error) {
      return done(error as Error);
    }
    done();
  });
  const checksBans = (route: RouteOptions) => changesState(route) && route.config?.allowWhenBanned !== true;
  attachToRoutes(app, 'preHandler', checksBans, (request, reply, done) => {
    if (SAFE_METHODS.has(request.method)) return done();
    if (request.anon.isNew && request.sessionToken === null && request.accessToken === null) return done();
    request.caller({ start: false }).then((caller) => {
      if (caller.banned) {
        sendError(request, reply, 'BANNED', 'This identity is banned from making changes.');
        return;
      }
      done();
    }, (error: unknown) => (error instanceof AppError && error.code === 'SESSION_REQUIRED' ? done() : done(error as Error)));
  });
}

/**
 * The visitor's signed-in session, if its cookie names a live one. A cookie whose session is gone
 * (signed out, expired, revoked by a ban) is cleared, and the request goes on as the guest.
 */
async function signedInOf(
  request: FastifyRequest,
  reply: FastifyReply,
  sessions: SessionService,
  fresh: boolean,
): Promise<SessionContext | null> {
  const token = request.sessionToken;
  if (token === null) return null;
  const context = await sessions.resolveSignedIn(token, { fresh });
  if (context) return context;
  clearSessionCookie(reply);
  request.sessionToken = null;
  return null;
}

/**
 * Who the visitor is, for read-only answers (GET /session): through the node-local cache, so a
 * visitor without a session cookie costs one cache or index lookup, as before sign-in existed.
 */
export async function currentVisitor(
  request: FastifyRequest,
  reply: FastifyReply,
  sessions: SessionService,
): Promise<SessionContext | null> {
  // An API client's access token decides alone (verified, then its session read through the cache).
  if (request.accessToken !== null) return request.caller({ cached: true });
  const signedIn = request.sessionToken === null ? null : await signedInOf(request, reply, sessions, false);
  if (signedIn) return signedIn;
  return request.anon.isNew ? null : sessions.resolve(request.anon.token);
}

/** The caller when a live signed-in session is behind the request, else null (a guest, or nobody yet). */
export async function signedInCaller(request: FastifyRequest): Promise<SessionContext | null> {
  if (request.sessionToken === null && request.accessToken === null) return null;
  try {
    const caller = await request.caller();
    return caller.accountType === 'guest' ? null : caller;
  } catch (error) {
    if (error instanceof AppError && error.code === 'SESSION_REQUIRED') return null;
    throw error;
  }
}

/** Verifies access tokens (see auth/tokens/signing-keyring.ts). */
export interface AccessTokenVerifier {
  verify(token: string): Promise<{ readonly sessionId: string } | null>;
}

/** `Authorization: Bearer <token>`, or null. (Admin and app routes read their own headers elsewhere.) */
function bearerTokenOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header || header.length > 4096) return null;
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header);
  return match?.[1] ?? null;
}

function callerResolver(
  request: FastifyRequest,
  reply: FastifyReply,
  sessions: SessionService,
  accessTokens: AccessTokenVerifier,
): FastifyRequest['caller'] {
  let known: SessionContext | null = null;
  return async (options) => {
    if (known) return known;
    if (request.accessToken !== null) {
      // An API client: the token alone decides. A bad, expired or revoked one is an error, never a
      // fallback to cookies or a new guest.
      const claims = await accessTokens.verify(request.accessToken);
      const context = claims && (await sessions.resolveByPublicId(claims.sessionId, { fresh: !options?.cached }));
      if (!context) throw new AppError('TOKEN_INVALID', 'The access token is invalid or expired, or its session ended. Refresh it or sign in again.');
      if (!options?.cached) known = context; // only a fresh read may answer later callers of this request
      return context;
    }
    const signedIn = await signedInOf(request, reply, sessions, true);
    if (signedIn) return (known = signedIn);
    const found = request.anon.isNew ? null : await sessions.resolve(request.anon.token, { fresh: true });
    if (found) return (known = found);
    if (!options?.start) throw new AppError('SESSION_REQUIRED', 'Start a session first (POST /session) or sign in.');
    known = (await sessions.startGuest(request.anon.token)).context;
    return known;
  };
}

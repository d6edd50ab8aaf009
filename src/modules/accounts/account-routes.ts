import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { Clock } from '../../clock.js';
import { body, errorResponses } from '../../http/schemas.js';
import { clearSessionCookie } from '../../http/session-cookie.js';
import { applySignInCookies, browserOf } from '../../http/sign-in-cookies.js';
import { AppError } from '../../errors.js';
import { signedInCaller } from '../../http/visitor.js';
import type { SessionService } from '../sessions/session-service.js';
import type { StepUpService } from '../step-up/step-up-service.js';
import type { AccountService, Authenticated } from './account-service.js';
import { TERRITORY_CODE_PATTERN } from '../territories/territory.js';


/** Sign-in bodies are a few hundred bytes; a small cap keeps junk from reaching the parser. */
export const AUTH_BODY_LIMIT = 8 * 1024;

/**
 * One `@` with something on each side, surrounding white space allowed (it is trimmed): whether the
 * mailbox exists is for a confirmation mail to find out, not a regular expression. 254 is SMTP's cap.
 */
const Email = Type.String({ pattern: '^\\s*[^\\s@]+@[^\\s@]+\\s*$', maxLength: 254, description: 'Compared trimmed and lower-cased.' });
/** The policy's 256-character limit is checked after NFC (WEAK_PASSWORD); this only caps the input. */
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const NullableString = (options: object) => Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });
/** Checked by the handle rules (HANDLE_INVALID, HANDLE_RESERVED); this only caps the input. */
const Handle = Type.String({ minLength: 1, maxLength: 100, description: 'Lowercase letters, digits and _, 3–50 (case is folded).' });

/** An email address or a handle (exactly one), and the password: a sign-in, and a password step-up's proof. */
export const PasswordCredentials = Type.Object({ email: Type.Optional(Email), handle: Type.Optional(Handle), password: Password }, { additionalProperties: false });

const Registered = body({
  personaId: Type.String({ format: 'uuid' }),
  displayName: Type.String(),
  handle: Type.Optional(Type.String({ description: 'The handle the first persona claimed; only when one was given.' })),
  recoveryCodes: Type.Optional(
    Type.Array(Type.String(), {
      description: 'Only for a handle without email: 10 one-time codes to regain the account with (POST /auth/recover). Shown this once; keep them safe.',
    }),
  ),
});

export const SignedIn = body({
  personaId: NullableString({
    format: 'uuid',
    description: 'The active persona: the one used most recently, else the newest; null when every persona is deactivated or deleted.',
  }),
  displayName: NullableString({}),
});

export interface AccountRoutesDeps {
  readonly accounts: AccountService;
  readonly sessions: SessionService;
  readonly clock: Clock;
  /** The signed-in cookie's Max-Age: the session's absolute timeout. */
  readonly sessionMaxAgeSeconds: number;
  /** Setting a password is a sensitive change (step-up). */
  readonly stepUp: StepUpService;
}

/**
 * Register, log in, log out. These routes are open to a banned browser on purpose: signing in from
 * it is how a ban reaches the account (DESIGN.md §2b), and signing out is always allowed.
 */
export const accountRoutes: FastifyPluginAsyncTypebox<AccountRoutesDeps> = async (app, deps) => {
  const { accounts, sessions } = deps;
  const bodyLimit = Math.min(AUTH_BODY_LIMIT, app.initialConfig.bodyLimit ?? AUTH_BODY_LIMIT);

  const answer = (request: FastifyRequest, reply: FastifyReply, result: Authenticated) =>
    applySignInCookies(request, reply, result, deps.clock, deps.sessionMaxAgeSeconds);

  app.post(
    '/auth/register',
    {
      bodyLimit,
      config: { allowWhenBanned: true },
      schema: {
        tags: ['auth'],
        summary: 'Register with an email address and/or a handle, and a password',
        description:
          'Creates the account, its invisible accountability profile and a first persona (trust NEW), and signs in: ' +
          'the `__Host-session` cookie is set, and `anon_id` is replaced when the browser had one. Give `email`, `handle`, ' +
          'or both (spec 004: email is optional). With a handle the first persona claims it at once (400 HANDLE_INVALID, ' +
          '409 HANDLE_RESERVED or HANDLE_TAKEN, and nothing is created). A handle without email makes a `handle` account ' +
          'and answers 10 one-time `recoveryCodes`, shown only this once. `territory` chooses where the person lives ' +
          '(404 TERRITORY_NOT_FOUND, 409 TERRITORY_CLOSED); an invite-only one needs an `invitation` (403 INVITATION_REQUIRED; ' +
          'a refused invitation creates nothing and consumes nothing).',
        body: Type.Object(
          {
            email: Type.Optional(Email),
            handle: Type.Optional(Handle),
            password: Password,
            initialDisplayName: Type.String({ minLength: 1, maxLength: 128 }),
            territory: Type.Optional(Type.String({ pattern: TERRITORY_CODE_PATTERN, description: 'The territory to live in (default: the default territory).' })),
            invitation: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'An invitation token: needed for an invite-only territory, consumed by the registration.' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Registered, ...errorResponses(400, 403, 409, 413, 429) },
      },
    },
    async (request, reply) => {
      const result = await accounts.register(request.body, browserOf(request), request.id);
      answer(request, reply, result);
      const persona = result.persona as NonNullable<Authenticated['persona']>; // registration always makes one
      return reply.code(201).send({
        personaId: persona.id,
        displayName: persona.displayName,
        ...(result.handle === null ? {} : { handle: result.handle }),
        ...(result.recoveryCodes === null ? {} : { recoveryCodes: [...result.recoveryCodes] }),
        correlationId: request.id,
      });
    },
  );

  app.post(
    '/auth/login',
    {
      bodyLimit,
      config: { allowWhenBanned: true },
      schema: {
        tags: ['auth'],
        summary: 'Log in with an email address or a handle, and a password',
        description:
          'Exactly one of `email` and `handle`. A handle signs in its handle account, or the email account that made the ' +
          'persona holding it. A wrong address or handle and a wrong password get the same answer (401 INVALID_CREDENTIALS). ' +
          'Attempts are limited per address or handle and per client (429 TOO_MANY_ATTEMPTS with Retry-After).',
        body: PasswordCredentials,
        response: { 200: SignedIn, ...errorResponses(400, 401, 403, 413, 429) },
      },
    },
    async (request, reply) => {
      const result = await accounts.login(request.body, browserOf(request));
      answer(request, reply, result);
      return { personaId: result.persona?.id ?? null, displayName: result.persona?.displayName ?? null, correlationId: request.id };
    },
  );

  app.put(
    '/api/v2/auth/password',
    {
      bodyLimit,
      schema: {
        tags: ['auth'],
        summary: 'Set or change your password',
        description:
          'For a session signed in with an email address (by password or by code) or a handle; signed in with another ' +
          'method (a linked passkey or key), it sets the password of your handle account: how to regain a handle ' +
          'account through any linked method. Needs a fresh sign-in ' +
          '(403 STEP_UP_REQUIRED, see POST /api/v2/auth/step-up); the password policy applies (WEAK_PASSWORD). Every other ' +
          'signed-in session of the account ends, on every device.',
        body: Type.Object({ newPassword: Password }, { additionalProperties: false }),
        response: {
          200: body({ passwordSet: Type.Literal(true), otherSessionsEnded: Type.Integer({ minimum: 0 }) }),
          ...errorResponses(400, 401, 403, 413),
        },
      },
    },
    async (request) => {
      const caller = await signedInCaller(request);
      if (!caller) throw new AppError('SESSION_REQUIRED', 'Sign in with your email address or handle first.');
      await deps.stepUp.require(caller);
      const otherSessionsEnded = await accounts.setPassword(caller, request.body.newPassword);
      return { passwordSet: true as const, otherSessionsEnded, correlationId: request.id };
    },
  );

  app.post(
    '/auth/logout',
    {
      bodyLimit,
      config: { allowWhenBanned: true },
      schema: {
        tags: ['auth'],
        summary: 'Log out',
        description: 'Ends the signed-in session on the server (on every node) and clears its cookie. The guest identity stays.',
        response: { 200: body({ signedOut: Type.Boolean({ description: 'False when there was no live session.' }) }) },
      },
    },
    async (request, reply) => {
      const token = request.sessionToken;
      const signedOut = token === null ? false : await sessions.signOut(token);
      if (token !== null) clearSessionCookie(reply);
      return { signedOut, correlationId: request.id };
    },
  );
};

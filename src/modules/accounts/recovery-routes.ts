import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import { body, errorResponses } from '../../http/schemas.js';
import { applySignInCookies, browserOf } from '../../http/sign-in-cookies.js';
import { signedInCaller } from '../../http/visitor.js';
import type { StepUpService } from '../step-up/step-up-service.js';
import { AUTH_BODY_LIMIT, SignedIn } from './account-routes.js';
import type { RecoveryService } from './recovery-service.js';

export interface RecoveryRoutesDeps {
  readonly recovery: RecoveryService;
  readonly stepUp: StepUpService;
  readonly clock: Clock;
  readonly sessionMaxAgeSeconds: number;
}

const RecoveryCodes = Type.Array(Type.String({ description: 'xxxx-xxxx-xxxx' }), { description: 'Shown this once; each works once.' });

/** Recovery of a handle account without email: one-time codes (spec 004: email is optional). */
export const recoveryRoutes: FastifyPluginAsyncTypebox<RecoveryRoutesDeps> = async (app, deps) => {
  const { recovery } = deps;
  const bodyLimit = Math.min(AUTH_BODY_LIMIT, app.initialConfig.bodyLimit ?? AUTH_BODY_LIMIT);

  app.post(
    '/auth/recover',
    {
      bodyLimit,
      config: { allowWhenBanned: true },
      schema: {
        tags: ['auth'],
        summary: 'Regain a handle account with a recovery code',
        description:
          'Spends one of the codes given at registration (each works once, even against parallel attempts), sets the new ' +
          'password (the password policy applies: WEAK_PASSWORD), ends every other session of the account and signs in, ' +
          'answering as POST /auth/login. An unknown handle and a wrong or used code get the same answer (401 ' +
          'INVALID_CREDENTIALS); attempts draw on the login limits (429 TOO_MANY_ATTEMPTS). The session made this way ' +
          'does not count as a fresh sign-in for sensitive changes: sign in with the new password for those.',
        body: Type.Object(
          {
            handle: Type.String({ minLength: 1, maxLength: 100 }),
            recoveryCode: Type.String({ minLength: 1, maxLength: 64, description: 'Case, spaces and dashes do not matter.' }),
            newPassword: Type.String({ minLength: 1, maxLength: 1024 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: SignedIn, ...errorResponses(400, 401, 403, 413, 429) },
      },
    },
    async (request, reply) => {
      const result = await recovery.recover(request.body, browserOf(request), request.id);
      applySignInCookies(request, reply, result, deps.clock, deps.sessionMaxAgeSeconds);
      return { personaId: result.persona?.id ?? null, displayName: result.persona?.displayName ?? null, correlationId: request.id };
    },
  );

  const callerOf = async (request: Parameters<typeof signedInCaller>[0]) => {
    const caller = await signedInCaller(request);
    if (!caller) throw new AppError('SESSION_REQUIRED', 'Sign in with your handle (or a method linked to it) first.');
    return caller;
  };

  app.get(
    '/api/v2/auth/recovery-codes',
    {
      schema: {
        tags: ['auth'],
        summary: 'How many recovery codes you have left',
        description: 'For a handle account without email (signed in with it, or with a method linked to it). The codes themselves are never shown again.',
        response: { 200: body({ remaining: Type.Integer({ minimum: 0 }) }), ...errorResponses(400, 401) },
      },
    },
    async (request) => ({ remaining: await recovery.remaining(await callerOf(request)), correlationId: request.id }),
  );

  app.post(
    '/api/v2/auth/recovery-codes',
    {
      bodyLimit,
      schema: {
        tags: ['auth'],
        summary: 'New recovery codes (the old ones stop working)',
        description:
          'Needs a fresh sign-in (403 STEP_UP_REQUIRED: sign in again, or POST /api/v2/auth/step-up with a linked method). ' +
          'Answers 10 new codes, shown only this once; every earlier code, used or not, is dead.',
        response: { 200: body({ recoveryCodes: RecoveryCodes }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const caller = await callerOf(request);
      await deps.stepUp.require(caller);
      return { recoveryCodes: await recovery.regenerate(caller, request.id), correlationId: request.id };
    },
  );
};

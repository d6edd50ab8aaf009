import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { SignInStrategy } from '../../auth/strategy.js';
import { AppError } from '../../errors.js';
import { body, errorResponses } from '../../http/schemas.js';
import { signedInCaller } from '../../http/visitor.js';
import { PasswordCredentials } from '../accounts/account-routes.js';
import { PASSWORD_STEP_UP, type StepUpService } from './step-up-service.js';

export interface StepUpRoutesDeps {
  readonly stepUp: StepUpService;
  readonly strategies: ReadonlyMap<string, SignInStrategy>;
}

/** `POST /api/v2/auth/step-up`: prove one of your methods again before a sensitive change. */
export const stepUpRoutes: FastifyPluginAsyncTypebox<StepUpRoutesDeps> = async (app, { stepUp, strategies }) => {
  const methods = [...strategies.values()];

  app.post(
    '/api/v2/auth/step-up',
    {
      schema: {
        tags: ['identity graph'],
        summary: 'Confirm it is you (a fresh sign-in for sensitive changes)',
        description:
          'One of your methods, with a challenge made with `purpose: "step-up"`, or `{strategy: "password", email | handle, ' +
          'password}` with an email address or handle of your own (no challenge). For the next STEP_UP_WINDOW_SECONDS the ' +
          'session may link, unlink, set a password and delete. An email code counts only for a person with no stronger ' +
          'method (403 STEP_UP_METHOD_TOO_WEAK otherwise). A password step-up is no sign-in: the credentials of another ' +
          'account, a wrong password and an unknown name all answer 401 INVALID_CREDENTIALS and change nothing (the session ' +
          'stays yours and unconfirmed); attempts count against the same limits as POST /auth/login (429 TOO_MANY_ATTEMPTS).',
        body: Type.Union([
          ...methods.map((strategy) => Type.Object({ strategy: Type.Literal(strategy.name), ...strategy.proofBody.properties }, { additionalProperties: false })),
          Type.Object({ strategy: Type.Literal(PASSWORD_STEP_UP), ...PasswordCredentials.properties }, { additionalProperties: false }),
        ]),
        response: { 200: body({ steppedUp: Type.Literal(true) }), ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const caller = await signedInCaller(request);
      if (!caller) throw new AppError('SESSION_REQUIRED', 'Sign in first: stepping up confirms a signed-in session.');
      const { strategy, ...proof } = request.body as { strategy: string } & Record<string, unknown>;
      await stepUp.stepUp(caller, strategy, proof, request.ip);
      return { steppedUp: true as const, correlationId: request.id };
    },
  );
};

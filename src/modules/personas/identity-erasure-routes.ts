import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { body, errorResponses } from '../../http/schemas.js';
import { clearSessionCookie } from '../../http/session-cookie.js';
import type { StepUpService } from '../step-up/step-up-service.js';
import type { PersonaService } from './persona-service.js';

export interface IdentityErasureRoutesDeps {
  readonly personas: PersonaService;
  readonly stepUp: StepUpService;
}

/** `DELETE /api/v2/auth/identity`: the right to erasure for a whole person (GDPR Art. 17). */
export const identityErasureRoutes: FastifyPluginAsyncTypebox<IdentityErasureRoutesDeps> = async (app, { personas, stepUp }) => {
  app.delete(
    '/api/v2/auth/identity',
    {
      // Erasure is a right a ban does not take away (a banned guest keeps its cookie); the legal
      // hold is what keeps evidence, and a marked person's methods keep the mark (retired-methods.ts).
      config: { allowWhenBanned: true, changesPublicIdentity: true },
      schema: {
        tags: ['identity graph'],
        summary: 'Delete your whole identity',
        description:
          'Every persona is anonymized at once and purged after the purge period; every sign-in method, credential and ' +
          'session (on every device) is gone. Needs a fresh sign-in (STEP_UP_REQUIRED); refused under a legal hold ' +
          '(409 LEGAL_HOLD). Signing in again with one of the methods starts a new person — one that takes on any ban or ' +
          'raised risk this identity carried.',
        response: {
          200: body({ deleted: Type.Literal(true), purgeAfter: Type.String({ format: 'date-time' }) }),
          ...errorResponses(401, 403, 409),
        },
      },
    },
    async (request, reply) => {
      const caller = await request.caller();
      await stepUp.require(caller);
      const { purgeAfter } = await personas.eraseIdentity(caller);
      if (request.sessionToken !== null) clearSessionCookie(reply);
      return { deleted: true as const, purgeAfter, correlationId: request.id };
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { adminActor } from '../../http/admin-auth.js';
import { body, errorResponses } from '../../http/schemas.js';
import { TrustLevelSchema } from './persona-routes.js';
import type { PersonaService } from './persona-service.js';

/** Manual trust promotion (spec 002 phase 1): every grant is audited and emits PersonaTrustChanged. */
export const personaAdminRoutes: FastifyPluginAsyncTypebox<{ personas: Pick<PersonaService, 'setTrustLevel'> }> = async (
  app,
  { personas },
) => {
  app.post(
    '/admin/personas/:id/trust-level',
    {
      schema: {
        tags: ['admin', 'personas'],
        summary: 'Set a persona\'s trust level',
        description: 'Promotes (or demotes) a persona; `trustGrantedAt` becomes now. Rotation starts the successor at NEW again.',
        security: [{ adminToken: [] }],
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
        body: Type.Object({ trustLevel: TrustLevelSchema }, { additionalProperties: false }),
        response: {
          200: body({
            persona: Type.Object(
              { id: Type.String({ format: 'uuid' }), trustLevel: TrustLevelSchema, trustGrantedAt: Type.String({ format: 'date-time' }) },
              { additionalProperties: false },
            ),
          }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const persona = await personas.setTrustLevel(request.params.id, request.body.trustLevel, adminActor(request));
      return { persona, correlationId: request.id };
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { adminActor } from '../../http/admin-auth.js';
import { body, errorResponses } from '../../http/schemas.js';
import type { BanService } from './ban-service.js';

const Subject = Type.Union(
  [
    Type.Object({ personaId: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
    Type.Object({ authorId: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
    Type.Object({ personHash: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
  ],
  { description: 'Exactly one of: a persona id, an author id, or a person hash an app was given.' },
);

export const banRoutes: FastifyPluginAsyncTypebox<{ bans: BanService }> = async (app, { bans }) => {
  app.post(
    '/admin/bans',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['admin'],
        summary: 'Ban a person',
        description:
          'The ban lands on the person behind the subject: all of their personas are banned, their risk level ' +
          'becomes HIGH, and every signed-in session of theirs ends. Events PersonBanned / PersonUnbanned.',
        security: [{ adminToken: [] }],
        body: Type.Object(
          { subject: Subject, reason: Type.String({ minLength: 1, maxLength: 500 }) },
          { additionalProperties: false },
        ),
        response: { 200: body({ banned: Type.Literal(true) }), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      await bans.ban(request.body.subject, request.body.reason, adminActor(request));
      return { banned: true as const, correlationId: request.id };
    },
  );

  app.post(
    '/admin/bans/lift',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['admin'],
        summary: 'Lift a ban',
        description: 'The risk level stays as it is: lower it with PUT /admin/people/{profileId}/risk-level.',
        security: [{ adminToken: [] }],
        body: Type.Object({ subject: Subject }, { additionalProperties: false }),
        response: { 200: body({ banned: Type.Literal(false) }), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      await bans.unban(request.body.subject, adminActor(request));
      return { banned: false as const, correlationId: request.id };
    },
  );
};

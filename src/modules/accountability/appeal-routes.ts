import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { adminActor } from '../../http/admin-auth.js';
import { body, errorResponses } from '../../http/schemas.js';
import type { AppealService } from './appeal-service.js';

const security = [{ adminToken: [] }];

/** Appeals (moderator role): opened for a persona, resolved once, listed by status. */
export const appealRoutes: FastifyPluginAsyncTypebox<{ appeals: AppealService }> = async (app, { appeals }) => {
  app.post(
    '/admin/appeals',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['trust & safety'],
        summary: 'Open an appeal',
        description:
          'Records a person\'s appeal against the persona it concerns (in any state: an appeal outlives rotation) and ' +
          'the person behind it. While open, none of the person\'s personas is purged. Event AppealOpened.',
        security,
        body: Type.Object(
          { personaId: Type.String({ format: 'uuid' }), statement: Type.String({ minLength: 1, maxLength: 4000 }) },
          { additionalProperties: false },
        ),
        response: { 201: body({ appeal: Type.Ref('Appeal') }), ...errorResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const appeal = await appeals.open(request.body.personaId, request.body.statement, adminActor(request));
      return reply.code(201).send({ appeal, correlationId: request.id });
    },
  );

  app.post(
    '/admin/appeals/:id/resolve',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['trust & safety'],
        summary: 'Resolve an appeal',
        description:
          '`upheld` keeps the decision, `overturned` reverses it (lift a ban separately with POST /admin/bans/lift). ' +
          'With `abuseScore`, the person\'s score is set in the same transaction and the risk level follows from it. ' +
          'An appeal is resolved once: again answers 409 APPEAL_CLOSED. Event AppealResolved (and AccountabilityChanged).',
        security,
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
        body: Type.Object(
          {
            status: Type.Union([Type.Literal('upheld'), Type.Literal('overturned')]),
            resolution: Type.String({ minLength: 1, maxLength: 4000 }),
            abuseScore: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: body({
            appeal: Type.Ref('Appeal'),
            accountability: Type.Union([Type.Ref('Accountability'), Type.Null()], { description: 'The person after the new score; null when none was given.' }),
          }),
          ...errorResponses(400, 401, 404, 409),
        },
      },
    },
    async (request) => ({ ...(await appeals.resolve(request.params.id, request.body, adminActor(request))), correlationId: request.id }),
  );

  app.get(
    '/admin/appeals',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['trust & safety'],
        summary: 'List appeals',
        description: 'Oldest first, so the queue is worked in order.',
        security,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('upheld'), Type.Literal('overturned')])),
            limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: '1–999, default 100.' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: body({ appeals: Type.Array(Type.Ref('Appeal')) }), ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const { status, limit } = request.query;
      const appealList = await appeals.list({ ...(status ? { status } : {}), limit: limit ? Number(limit) : 100 });
      return { appeals: appealList, correlationId: request.id };
    },
  );
};

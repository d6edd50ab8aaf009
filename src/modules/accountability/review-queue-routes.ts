import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { body, errorResponses } from '../../http/schemas.js';
import type { ReviewQueueRepository } from './review-queue-repository.js';

const Uuid = Type.String({ format: 'uuid' });
const Limit = Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: '1–200, default 50.' }));
const security = [{ adminToken: [] }];
const MAX_LIMIT = 200;

const FlagQueueItem = Type.Object(
  {
    id: Uuid,
    personaId: Uuid,
    reason: Type.String(),
    actor: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    displayName: Type.String(),
    accountabilityProfileId: Uuid,
    personaActive: Type.Boolean(),
    riskLevel: Type.Union([Type.Literal('LOW'), Type.Literal('MEDIUM'), Type.Literal('HIGH')]),
    banned: Type.Boolean(),
  },
  { additionalProperties: false },
);

/** The limit a query asked for, capped: a three-digit string may still say 999. */
const limitOf = (given: string | undefined, fallback: number) => Math.min(given ? Number(given) : fallback, MAX_LIMIT);

/** The work lists of the staff console (moderator role): recent flags and the people under a legal hold. */
export const reviewQueueRoutes: FastifyPluginAsyncTypebox<{ queues: ReviewQueueRepository }> = async (app, { queues }) => {
  app.get(
    '/admin/flags',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['trust & safety'],
        summary: 'The flags queue',
        description:
          'Flags on every persona, newest first, each with the persona\'s name and where its person stands (risk level, ban). ' +
          'Page with `after` (the id of the last flag seen). Lists unmask nobody, so they are not audited; opening a person is.',
        security,
        querystring: Type.Object({ limit: Limit, after: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: { 200: body({ flags: Type.Array(FlagQueueItem) }), ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const { limit, after } = request.query;
      const flags = await queues.recentFlags({ limit: limitOf(limit, 50), ...(after ? { afterId: after } : {}) });
      return { flags, correlationId: request.id };
    },
  );

  app.get(
    '/admin/legal-holds',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['trust & safety'],
        summary: 'People under a legal hold',
        description: 'Nothing of theirs is purged while held. Place and lift holds with PUT /admin/people/{profileId}/legal-hold.',
        security,
        querystring: Type.Object({ limit: Limit }, { additionalProperties: false }),
        response: { 200: body({ people: Type.Array(Type.Ref('Accountability')) }), ...errorResponses(400, 401) },
      },
    },
    async (request) => ({ people: await queues.legalHolds({ limit: limitOf(request.query.limit, 50) }), correlationId: request.id }),
  );
};

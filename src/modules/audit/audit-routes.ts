import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { body, errorResponses } from '../../http/schemas.js';
import type { AuditSearchRepository } from './audit-search-repository.js';

const MAX_LIMIT = 200;

const AuditRecord = Type.Object(
  {
    id: Type.String({ description: 'Sequence number; pass it as `before` for the next page.' }),
    at: Type.String({ format: 'date-time' }),
    actor: Type.String(),
    action: Type.String(),
    target: Type.String(),
    correlationId: Type.String(),
    detail: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);

const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    action: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{0,63}$', description: 'An action, or a family when it ends in a dot (`person.`).' })),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    person: Type.Optional(Type.String({ format: 'uuid', description: 'An accountability profile id: rows about the person or any persona of theirs.' })),
    correlationId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'At or after.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Before.' })),
    before: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,18}$', description: 'Rows older than this id (the next page).' })),
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: '1–200, default 50.' })),
  },
  { additionalProperties: false },
);

/** Audit log search (moderator role): who did what to whom, and in which request. Reading changes nothing. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ audit: AuditSearchRepository }> = async (app, { audit }) => {
  app.get(
    '/admin/audit',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['trust & safety'],
        summary: 'Search the audit log',
        description:
          'Newest first. Every given filter must match: `actor`, `target` and `correlationId` exactly, `action` exactly or ' +
          'as a family (`person.`), `person` as the person or any persona of theirs, `from` ≤ at < `to`. The log is append-only: the database refuses to change a row.',
        security: [{ adminToken: [] }],
        querystring: AuditQuery,
        response: { 200: body({ entries: Type.Array(AuditRecord) }), ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const { actor, action, target, person, correlationId, from, to, before, limit } = request.query;
      const entries = await audit.search({
        ...(actor === undefined ? {} : { actor }),
        ...(action === undefined ? {} : { action }),
        ...(target === undefined ? {} : { target }),
        ...(person === undefined ? {} : { personId: person }),
        ...(correlationId === undefined ? {} : { correlationId }),
        ...(from === undefined ? {} : { from: new Date(from) }),
        ...(to === undefined ? {} : { to: new Date(to) }),
        ...(before === undefined ? {} : { beforeId: before }),
        limit: Math.min(limit ? Number(limit) : 50, MAX_LIMIT),
      });
      return { entries, correlationId: request.id };
    },
  );
};

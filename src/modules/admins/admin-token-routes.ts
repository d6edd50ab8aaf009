import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { adminActor } from '../../http/admin-auth.js';
import { body, errorResponses } from '../../http/schemas.js';
import type { AdminTokenService } from './admin-token-service.js';

const AdminTokenSummary = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    role: Type.Union([Type.Literal('admin'), Type.Literal('moderator')]),
    createdAt: Type.String({ format: 'date-time' }),
    revoked: Type.Boolean(),
  },
  { $id: 'AdminTokenSummary', additionalProperties: false },
);

/** Admins issue and revoke the tokens of other admins and moderators. */
export const adminTokenRoutes: FastifyPluginAsyncTypebox<{ adminTokens: AdminTokenService }> = async (app, { adminTokens }) => {
  app.post(
    '/admin/tokens',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Issue an admin token',
        description:
          'Answers the token once (`pk_admin_…`); only its keyed hash is stored. A `moderator` may handle people ' +
          '(flags, scores, bans, appeals, holds); an `admin` may also manage apps and admin tokens.',
        security: [{ adminToken: [] }],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100, description: 'Whose token this is, for the list.' }),
            role: Type.Union([Type.Literal('admin'), Type.Literal('moderator')]),
          },
          { additionalProperties: false },
        ),
        response: { 201: body({ adminToken: Type.Ref('AdminTokenSummary'), token: Type.String() }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const created = await adminTokens.create(request.body.name, request.body.role, adminActor(request));
      return reply.code(201).send({ ...created, correlationId: request.id });
    },
  );

  app.get(
    '/admin/tokens',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'List admin tokens',
        description: 'The bootstrap ADMIN_TOKEN is configuration and is not listed.',
        security: [{ adminToken: [] }],
        response: { 200: body({ adminTokens: Type.Array(Type.Ref('AdminTokenSummary')) }), ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ adminTokens: await adminTokens.list(), correlationId: request.id }),
  );

  app.delete(
    '/admin/tokens/:id',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Revoke an admin token',
        security: [{ adminToken: [] }],
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
        response: { 200: body({ revoked: Type.Literal(true) }), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await adminTokens.revoke(request.params.id, adminActor(request));
      return { revoked: true as const, correlationId: request.id };
    },
  );
};

export const adminTokenSchemas = [AdminTokenSummary];

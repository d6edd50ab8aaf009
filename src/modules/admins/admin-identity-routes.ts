import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { body, errorResponses } from '../../http/schemas.js';

/**
 * `GET /admin/me`: which admin a token is, and with what role. The staff console signs in with it,
 * and shows or hides admin-only screens by the role (the routes still enforce it).
 */
export const adminIdentityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/admin/me',
    {
      config: { adminRole: 'moderator' },
      schema: {
        tags: ['admin'],
        summary: 'Who am I',
        description: 'The actor audit rows name for this token (`admin` or `admin-token:<id>`), its role, and the name it was issued under.',
        security: [{ adminToken: [] }],
        response: {
          200: body({
            actor: Type.String(),
            role: Type.Union([Type.Literal('admin'), Type.Literal('moderator')]),
            name: Type.String({ description: 'Whose token this is, as issued (`POST /admin/tokens`).' }),
          }),
          ...errorResponses(401),
        },
      },
    },
    async (request) => ({ actor: request.admin.actor, role: request.admin.role, name: request.admin.name, correlationId: request.id }),
  );
};

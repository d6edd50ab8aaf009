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
        description: 'The actor audit rows name for this token (`admin` or `admin-token:<id>`) and its role.',
        security: [{ adminToken: [] }],
        response: {
          200: body({ actor: Type.String(), role: Type.Union([Type.Literal('admin'), Type.Literal('moderator')]) }),
          ...errorResponses(401),
        },
      },
    },
    async (request) => ({ actor: request.admin.actor, role: request.admin.role, correlationId: request.id }),
  );
};

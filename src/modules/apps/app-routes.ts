import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { bearerOf } from '../../http/admin-auth.js';
import { parseAnonCookie } from '../../http/anon-cookie.js';
import { sendError } from '../../http/error-handler.js';
import { body, errorResponses } from '../../http/schemas.js';
import { AppError } from '../../errors.js';
import { PersonaOrNull } from '../sessions/session-routes.js';
import type { AppService } from './app-service.js';

const AppSummary = Type.Object(
  { id: Type.String({ format: 'uuid' }), name: Type.String(), createdAt: Type.String({ format: 'date-time' }), revoked: Type.Boolean() },
  { $id: 'AppSummary', additionalProperties: false },
);

declare module 'fastify' {
  interface FastifyRequest {
    appId: string;
  }
}

/** Server-to-server: a registered app asks about one of its visitors. */
export const appRoutes: FastifyPluginAsyncTypebox<{ apps: AppService }> = async (app, { apps }) => {
  app.decorateRequest('appId', '');
  app.addHook('onRequest', async (request, reply) => {
    const apiKey = bearerOf(request);
    const found = apiKey ? await apps.authenticate(apiKey) : null;
    if (!found) return sendError(request, reply, 'APP_UNAUTHORIZED', 'A valid app API key is required (Authorization: Bearer …).');
    request.appId = found.id;
  });

  app.post(
    '/apps/resolve',
    {
      schema: {
        tags: ['apps'],
        summary: 'Resolve a visitor for an app',
        description:
          'Takes the visitor\'s `anon_id` cookie value as the browser sent it, and answers the active persona, ' +
          'whether the person is banned, and a person hash pairwise to this app (stable for this app, unrelated in others).',
        security: [{ appKey: [] }],
        body: Type.Object(
          {
            token: Type.String({ minLength: 1, maxLength: 200, description: 'The signed `anon_id` cookie value.' }),
            start: Type.Boolean({ default: false, description: 'Start a guest identity if the visitor has none yet.' }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: body({
            started: Type.Boolean(),
            persona: PersonaOrNull,
            banned: Type.Boolean(),
            personHash: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => {
      const cookie = parseAnonCookie(request.body.token, (value) => app.unsignCookie(value));
      if (!cookie) throw new AppError('INVALID_TOKEN', 'The token is not a valid anon_id cookie value.');
      const view = await apps.view(request.appId, cookie.token, request.body.start ?? false);
      return { ...view, correlationId: request.id };
    },
  );
};

/** The operator registers and revokes apps. */
export const appAdminRoutes: FastifyPluginAsyncTypebox<{ apps: AppService }> = async (app, { apps }) => {
  const admin = (correlationId: string) => ({ actor: 'admin', correlationId });

  app.post(
    '/admin/apps',
    {
      schema: {
        tags: ['admin'],
        summary: 'Register an app',
        description: 'Answers the app\'s API key once; only its keyed hash is stored.',
        security: [{ adminToken: [] }],
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
        response: { 201: body({ app: Type.Ref('AppSummary'), apiKey: Type.String() }), ...errorResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const created = await apps.create(request.body.name, admin(request.id));
      return reply.code(201).send({ ...created, correlationId: request.id });
    },
  );

  app.get(
    '/admin/apps',
    {
      schema: {
        tags: ['admin'],
        summary: 'List apps',
        security: [{ adminToken: [] }],
        response: { 200: body({ apps: Type.Array(Type.Ref('AppSummary')) }), ...errorResponses(401) },
      },
    },
    async (request) => ({ apps: await apps.list(), correlationId: request.id }),
  );

  app.delete(
    '/admin/apps/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Revoke an app\'s API key',
        security: [{ adminToken: [] }],
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 200: body({ revoked: Type.Boolean() }), ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      await apps.revoke(request.params.id, admin(request.id));
      return { revoked: true, correlationId: request.id };
    },
  );
};

export const appSchemas = [AppSummary];

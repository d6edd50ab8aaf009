import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { adminActor, bearerOf } from '../../http/admin-auth.js';
import { sendError } from '../../http/error-handler.js';
import { body, errorResponses } from '../../http/schemas.js';
import { signedInCaller } from '../../http/visitor.js';
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
          'Takes a ticket the visitor\'s browser got from `POST /session/app-ticket` for this app, and answers the ' +
          'active persona, whether the person is banned, whether their posts need review, and a person hash pairwise to ' +
          'this app (stable for this app, unrelated in others). The app never sees the visitor\'s token.',
        security: [{ appKey: [] }],
        body: Type.Object(
          {
            ticket: Type.String({ minLength: 1, maxLength: 400, description: 'A ticket issued to this app (at1.…).' }),
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
            reviewRequired: Type.Boolean({
              description: 'Queue this person\'s posts for manual review before they show (false for a visitor with no state yet).',
            }),
          }),
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => {
      const view = await apps.view(request.appId, request.body.ticket, request.body.start ?? false);
      return { ...view, correlationId: request.id };
    },
  );
};

/** The visitor's browser asks for a ticket to introduce itself to one app (visitor scope). */
export const appTicketRoutes: FastifyPluginAsyncTypebox<{ apps: AppService }> = async (app, { apps }) => {
  app.post(
    '/session/app-ticket',
    {
      // Changes nothing, and a banned visitor must still be introduced: it is how apps learn of the ban.
      config: { allowWhenBanned: true },
      schema: {
        tags: ['session', 'apps'],
        summary: 'Get a ticket for one app',
        description:
          'A short-lived, opaque ticket that only the named app can resolve (POST /apps/resolve). Hand it to the app ' +
          'instead of any token: the app learns the persona and its own pairwise person hash, nothing more.',
        body: Type.Object({ appId: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
        response: {
          201: body({ ticket: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }),
          ...errorResponses(400, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const signedIn = await signedInCaller(request);
      const credential = { anonToken: request.anon.token, sessionToken: signedIn ? request.sessionToken : null };
      const issued = await apps.issueTicket(credential, request.body.appId);
      return reply.code(201).send({ ...issued, correlationId: request.id });
    },
  );
};

/** The operator registers and revokes apps. */
export const appAdminRoutes: FastifyPluginAsyncTypebox<{ apps: AppService }> = async (app, { apps }) => {
  app.post(
    '/admin/apps',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Register an app',
        description: 'Answers the app\'s API key once; only its keyed hash is stored.',
        security: [{ adminToken: [] }],
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
        response: { 201: body({ app: Type.Ref('AppSummary'), apiKey: Type.String() }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const created = await apps.create(request.body.name, adminActor(request));
      return reply.code(201).send({ ...created, correlationId: request.id });
    },
  );

  app.get(
    '/admin/apps',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'List apps',
        security: [{ adminToken: [] }],
        response: { 200: body({ apps: Type.Array(Type.Ref('AppSummary')) }), ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ apps: await apps.list(), correlationId: request.id }),
  );

  app.delete(
    '/admin/apps/:id',
    {
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Revoke an app\'s API key',
        security: [{ adminToken: [] }],
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 200: body({ revoked: Type.Boolean() }), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      await apps.revoke(request.params.id, adminActor(request));
      return { revoked: true, correlationId: request.id };
    },
  );
};

export const appSchemas = [AppSummary];

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { body, errorResponses } from '../../http/schemas.js';
import { clearSessionCookie } from '../../http/session-cookie.js';
import type { SessionListEntry, SessionListService } from './session-list-service.js';

const SessionSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9a-f]{32}$', description: 'The session\'s public id (the `sid` of its access tokens).' }),
    deviceLabel: Type.Union([Type.String(), Type.Null()], {
      description: 'Browser and OS from the user agent when it signed in ("Chrome on macOS"); never an address.',
    }),
    client: Type.Union([Type.Literal('browser'), Type.Literal('api')]),
    createdAt: Type.String({ format: 'date-time' }),
    lastSeenAt: Type.String({ format: 'date-time', description: 'Updated at most once a minute.' }),
    current: Type.Boolean({ description: 'True for the session this request came with.' }),
  },
  { additionalProperties: false },
);

const SessionParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }) }, { additionalProperties: false });

function toPublic(session: SessionListEntry) {
  return {
    id: session.publicId,
    deviceLabel: session.deviceLabel,
    client: session.client,
    createdAt: session.createdAt.toISOString(),
    lastSeenAt: session.lastSeenAt.toISOString(),
    current: session.current,
  };
}

/** The caller's sessions (a guest's included): list them, end one, end all others (visitor scope). */
export const sessionListRoutes: FastifyPluginAsyncTypebox<{ sessionList: SessionListService }> = async (app, { sessionList }) => {
  app.get(
    '/api/v2/auth/sessions',
    {
      schema: {
        tags: ['auth'],
        summary: 'My signed-in sessions',
        description:
          'Every live signed-in session of this account and, unless it is `isolated`, of the person\'s other non-isolated ' +
          'accounts: browsers and API clients, with a device label, when each started and was last used. A guest (the `anon_id` ' +
          'cookie, or a guest API token) lists its one session: the anonymous identity itself.',
        response: { 200: body({ sessions: Type.Array(SessionSchema) }), ...errorResponses(401) },
      },
    },
    async (request) => {
      const sessions = await sessionList.list(await request.caller());
      return { sessions: sessions.map(toPublic), correlationId: request.id };
    },
  );

  app.delete(
    '/api/v2/auth/sessions/:id',
    {
      schema: {
        tags: ['auth'],
        summary: 'End one of my sessions',
        description:
          'The session stops working on every node at once (its refresh tokens too). Ending the current session is signing ' +
          'out: a browser\'s session cookie is cleared. A guest API client may end its session (its tokens stop working); a ' +
          'browser guest\'s session is its identity (409 GUEST_SESSION_PERMANENT: erase it with DELETE /api/v2/auth/identity).',
        params: SessionParams,
        response: { 200: body({ revoked: Type.Literal(1) }), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { current } = await sessionList.revoke(await request.caller(), request.params.id);
      // The cookie's session, not an access token's (a request with both is the token's caller).
      if (current && request.accessToken === null && request.sessionToken !== null) clearSessionCookie(reply);
      return { revoked: 1 as const, correlationId: request.id };
    },
  );

  app.post(
    '/api/v2/auth/sessions/revoke-others',
    {
      schema: {
        tags: ['auth'],
        summary: 'End all my other sessions',
        description: 'Ends every session `GET /api/v2/auth/sessions` lists except the current one.',
        response: { 200: body({ revoked: Type.Integer({ minimum: 0 }) }), ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ revoked: await sessionList.revokeOthers(await request.caller()), correlationId: request.id }),
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type, { type Static, type TObject } from 'typebox';
import { body, errorResponses } from '../../http/schemas.js';
import { currentVisitor, signedInCaller } from '../../http/visitor.js';
import { sessionAnswer, type SessionContext } from './session.js';
import type { SessionService } from './session-service.js';

const personaProperties = {
  id: Type.String({ format: 'uuid' }),
  displayName: Type.String(),
  trustLevel: Type.Union([Type.Literal('NEW'), Type.Literal('REGULAR'), Type.Literal('TRUSTED')]),
  authorId: Type.String({ description: 'The persona\'s stable public pseudonym.' }),
  verified: Type.Boolean({ description: 'The person behind the persona is verified; the badge follows them to every persona.' }),
};

/**
 * The active persona or null, as one schema with `type: [object, null]` rather than `anyOf`: the
 * serializer then needs no validator to pick a branch, which matters on the hot path.
 */
export const PersonaOrNull = Type.Unsafe<Static<TObject<typeof personaProperties>> | null>({
  ...Type.Object(personaProperties, { additionalProperties: false }),
  type: ['object', 'null'],
  description: 'The active persona, or null before the visitor has started.',
});

const SessionBody = body(
  {
    started: Type.Boolean({ description: 'False until the visitor first does something that needs state.' }),
    anonymous: Type.Boolean(),
    banned: Type.Boolean(),
    persona: PersonaOrNull,
  },
  'Who the caller is, as the public may know it.',
);

export const sessionRoutes: FastifyPluginAsyncTypebox<{ sessions: SessionService }> = async (app, { sessions }) => {
  // The hot path: verify the cookie, hash the token, one cache or index lookup (the signed-in
  // session's when its cookie is there, else the guest's).
  app.get(
    '/session',
    { schema: { tags: ['session'], summary: 'Who am I?', response: { 200: SessionBody } } },
    (request, reply) => {
      const answer = (context: SessionContext | null) => sessionAnswer(context, request.id);
      if (request.sessionToken !== null || request.accessToken !== null) return currentVisitor(request, reply, sessions).then(answer);
      // Without a session cookie (most visitors) straight to the guest lookup, as before sign-in
      // existed; a cache hit answers synchronously (no promise, no extra turn of the event loop).
      if (request.anon.isNew) return answer(null);
      const cached = sessions.cachedGuest(request.anon.token);
      return cached ? answer(cached) : sessions.resolve(request.anon.token).then(answer);
    },
  );

  app.post(
    '/session',
    {
      schema: {
        tags: ['session'],
        summary: 'Start a guest identity (idempotent)',
        description:
          'Creates the guest account, its invisible accountability profile and a default persona. ' +
          'A signed-in visitor has nothing to start: the answer is their signed-in session.',
        response: { 200: SessionBody, 201: SessionBody, ...errorResponses(403, 503) },
      },
    },
    async (request, reply) => {
      const signedIn = await signedInCaller(request);
      if (signedIn) {
        return reply.code(200).send(sessionAnswer(signedIn, request.id));
      }
      // A visitor without a cookie was just given a new token: no guest can hold it, so no lookup first.
      const { created, context } = await sessions.startGuest(request.anon.token, 'browser', { newToken: request.anon.isNew });
      return reply.code(created ? 201 : 200).send(sessionAnswer(context, request.id));
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AppError } from '../../errors.js';
import { body, errorResponses } from '../../http/schemas.js';
import { notAMember, SPACE_ID_PATTERN } from './space.js';
import type { SpaceService } from './space-service.js';

const SpaceParams = Type.Object(
  {
    id: Type.String({
      pattern: SPACE_ID_PATTERN,
      description: 'The space\'s identifier, chosen by the community product: letters, digits and . _ : - (1–100).',
    }),
  },
  { additionalProperties: false },
);

const MembershipBody = body(
  {
    spaceId: Type.String(),
    member: Type.Boolean(),
    persona: Type.Union(
      [Type.Object({ id: Type.String({ format: 'uuid' }), displayName: Type.String() }, { additionalProperties: false }), Type.Null()],
      { description: 'The persona holding the membership, when this sign-in may see it.' },
    ),
    joinedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  'The caller\'s membership of a space: one per person, whichever persona joined.',
);

/** Spaces (visitor scope): one membership per person per space, across all their personas. */
export const spaceRoutes: FastifyPluginAsyncTypebox<{ spaces: SpaceService }> = async (app, { spaces }) => {
  app.post(
    '/spaces/:id/join',
    {
      schema: {
        tags: ['spaces'],
        summary: 'Join a space with the active persona',
        description:
          'A person is a member of a space at most once, whichever of their personas joined: a second join, with any ' +
          'persona of theirs, answers 409 ALREADY_MEMBER. A visitor with no identity yet gets a guest identity first.',
        params: SpaceParams,
        response: { 201: MembershipBody, ...errorResponses(400, 403, 409, 503) },
      },
    },
    async (request, reply) => {
      const membership = await spaces.join(await request.caller({ start: true }), request.params.id);
      return reply.code(201).send({ ...membership, correlationId: request.id });
    },
  );

  app.post(
    '/spaces/:id/leave',
    {
      // Leaving takes something away from the person's footprint; a ban does not stop it.
      config: { allowWhenBanned: true },
      schema: {
        tags: ['spaces'],
        summary: 'Leave a space',
        description: 'Ends the person\'s membership when it is held by a persona this sign-in may act as; else 404 NOT_MEMBER.',
        params: SpaceParams,
        response: { 200: MembershipBody, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      await spaces.leave(await request.caller(), request.params.id);
      return { spaceId: request.params.id, member: false, persona: null, joinedAt: null, correlationId: request.id };
    },
  );

  app.get(
    '/spaces/:id/membership',
    {
      schema: {
        tags: ['spaces'],
        summary: 'Am I a member of this space?',
        description: 'A visitor with no identity yet is simply not a member (as GET /session answers `started: false`).',
        params: SpaceParams,
        response: { 200: MembershipBody, ...errorResponses(400) },
      },
    },
    async (request) => {
      const caller = await request.caller().catch(noSessionAsNull);
      const membership = caller ? await spaces.membership(caller, request.params.id) : notAMember(request.params.id);
      return { ...membership, correlationId: request.id };
    },
  );
};

/** A read needs no identity: no session is an answer (not a member), not an error. */
function noSessionAsNull(error: unknown): null {
  if (error instanceof AppError && error.code === 'SESSION_REQUIRED') return null;
  throw error;
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { adminActor } from '../../http/admin-auth.js';
import { body, errorResponses } from '../../http/schemas.js';
import { signedInCaller } from '../../http/visitor.js';
import { AppError } from '../../errors.js';
import { TERRITORY_CODE_PATTERN } from '../territories/territory.js';
import { DEFAULT_LIFETIME_DAYS, MAX_GROUP_USES, MAX_LIFETIME_DAYS } from './invitation.js';
import { QR_CONTENT_TYPES } from './invitation-qr.js';
import type { InvitationService } from './invitation-service.js';

const Uuid = Type.String({ format: 'uuid' });
const TerritoryCode = Type.String({ pattern: TERRITORY_CODE_PATTERN });
const Token = Type.String({ minLength: 1, maxLength: 100, description: 'The invitation token (43 base64url characters), in the body: never in a URL.' });
const Kind = Type.Union([Type.Literal('single_use'), Type.Literal('group')]);
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const InvitationBody = {
  kind: Kind,
  maxUses: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: MAX_GROUP_USES, description: 'Group only; null or omitted: unlimited. Single use: 1.' }))),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: `Default ${DEFAULT_LIFETIME_DAYS} days ahead; at most ${MAX_LIFETIME_DAYS}.` })),
  email: Type.Optional(Type.String({ pattern: '^\\s*[^\\s@]+@[^\\s@]+\\s*$', maxLength: 254, description: 'Mailed the link; stored sealed in the territory; only this address may redeem.' })),
  handle: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Only a person taking this handle may redeem.' })),
};

export const InvitationSchema = Type.Object(
  {
    id: Uuid,
    territory: Type.String(),
    kind: Kind,
    maxUses: Nullable(Type.Integer()),
    uses: Type.Integer(),
    expiresAt: Nullable(Type.String({ format: 'date-time' })),
    revokedAt: Nullable(Type.String({ format: 'date-time' })),
    invitedHandle: Nullable(Type.String()),
    hasEmail: Type.Boolean({ description: 'Sent to an address (never shown again).' }),
    createdBy: Type.Union([Type.Literal('person'), Type.Literal('admin')]),
    createdAt: Type.String({ format: 'date-time' }),
    state: Type.Union([Type.Literal('usable'), Type.Literal('revoked'), Type.Literal('expired'), Type.Literal('used-up')]),
  },
  { additionalProperties: false },
);

export const Created = body({
  invitation: InvitationSchema,
  token: Type.String({ description: 'Shown once: only a keyed hash of it is stored.' }),
  inviteLink: Type.String({ description: '<PUBLIC_ORIGIN>/invite#<token>: the token rides in the fragment, which browsers never send.' }),
  qr: Type.Object(
    { svg: Type.String({ description: 'An SVG document.' }), png: Type.String({ description: 'A data:image/png;base64 URL.' }) },
    { additionalProperties: false },
  ),
  emailSent: Nullable(Type.Boolean({ description: 'Null: no address given. False: the mail could not be handed over.' })),
});

export const Uses = body({
  count: Type.Integer(),
  usedOn: Type.Array(Type.String({ format: 'date' }), { description: 'The day of each use (UTC), never the time nor who.' }),
});

const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

/** The signed-in person behind the request (a guest is not one): SESSION_REQUIRED otherwise. */
async function person(request: FastifyRequest) {
  const caller = await signedInCaller(request);
  if (!caller) throw new AppError('SESSION_REQUIRED', 'Sign in to invite people.');
  return caller;
}

/** People's invitations (signed in, trusted enough), and the landing checks anyone holding a token may make. */
export const invitationRoutes: FastifyPluginAsyncTypebox<{ invitations: InvitationService }> = async (app, { invitations }) => {
  app.post(
    '/invitations',
    {
      schema: {
        tags: ['federation', 'invitations'],
        summary: 'Invite someone into a territory',
        description:
          'Needs a signed-in persona of at least the `min_trust_level_to_invite` policy (default REGULAR; 403 ' +
          'TRUST_LEVEL_TOO_LOW) and a person who is not HIGH risk. Without `territory`, into my current territory; else ' +
          'into one I am a citizen of, or any open territory that is not invite-only. The token, link and QR are shown ' +
          'once, in this answer. With `email`, the link is mailed there and only that address may redeem it. Audited, ' +
          'event InvitationCreated.',
        body: Type.Object({ territory: Type.Optional(TerritoryCode), ...InvitationBody }, { additionalProperties: false }),
        response: { 201: Created, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const created = await invitations.createByPerson(await person(request), request.body, request.id);
      return reply.code(201).send({ ...created, correlationId: request.id });
    },
  );

  app.get(
    '/invitations',
    {
      schema: {
        tags: ['federation', 'invitations'],
        summary: 'My invitations',
        description: 'The invitations I made (newest first, up to 500), with how often each was used: never by whom.',
        response: { 200: body({ invitations: Type.Array(InvitationSchema) }), ...errorResponses(401) },
      },
    },
    async (request) => ({ invitations: await invitations.list(await person(request)), correlationId: request.id }),
  );

  app.post(
    '/invitations/:id/revoke',
    {
      schema: {
        tags: ['federation', 'invitations'],
        summary: 'Withdraw my invitation',
        description: 'It can no longer be used (INVITATION_REVOKED); uses already made stand. Idempotent. Audited, event InvitationRevoked.',
        params: IdParams,
        response: { 200: body({ invitation: InvitationSchema }), ...errorResponses(401, 404) },
      },
    },
    async (request) => ({
      invitation: await invitations.revoke(await person(request), request.params.id, { actor: 'person', correlationId: request.id }),
      correlationId: request.id,
    }),
  );

  app.get(
    '/invitations/:id/uses',
    {
      schema: {
        tags: ['federation', 'invitations'],
        summary: 'How my invitation was used',
        description: 'The count and the day of each use. Never who: that would link me to the people I invited.',
        params: IdParams,
        response: { 200: Uses, ...errorResponses(401, 404) },
      },
    },
    async (request) => ({ ...(await invitations.uses(await person(request), request.params.id)), correlationId: request.id }),
  );

  app.post(
    '/invitations/inspect',
    {
      schema: {
        tags: ['federation', 'invitations'],
        summary: 'What does this invitation lead to?',
        description:
          'For the invitation landing page: the territory, and whether the token can still be used (else why). Consumes ' +
          'nothing and needs no session. An unknown token is 404 INVITATION_INVALID.',
        body: Type.Object({ token: Token }, { additionalProperties: false }),
        response: {
          200: body({
            territory: Type.Object({ code: Type.String(), name: Type.String() }, { additionalProperties: false }),
            kind: Kind,
            expiresAt: Nullable(Type.String({ format: 'date-time' })),
            usable: Type.Boolean(),
            reason: Type.Optional(Type.Union([Type.Literal('revoked'), Type.Literal('expired'), Type.Literal('used-up'), Type.Literal('territory-closed')])),
            invitedHandle: Nullable(Type.String({ description: 'The handle the invitee is to take, if the invitation names one.' })),
            emailRequired: Type.Boolean({ description: 'Only the address it was sent to may redeem it (the address is never shown).' }),
          }),
          ...errorResponses(400, 404),
        },
      },
    },
    async (request) => ({ ...(await invitations.inspect(request.body.token)), correlationId: request.id }),
  );

  app.post(
    '/invitations/qr',
    {
      schema: {
        tags: ['federation', 'invitations'],
        summary: 'The QR code of an invitation, for printing',
        description: 'An SVG or PNG image of the share link of a usable invitation. The token goes in the body, never in a URL, because URLs get logged.',
        body: Type.Object({ token: Token, format: Type.Union([Type.Literal('svg'), Type.Literal('png')], { default: 'svg' }) }, { additionalProperties: false }),
        produces: [QR_CONTENT_TYPES.svg, QR_CONTENT_TYPES.png],
        response: {
          200: {
            description: 'image/svg+xml or image/png',
            content: {
              [QR_CONTENT_TYPES.svg]: { schema: Type.String() },
              [QR_CONTENT_TYPES.png]: { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) },
            },
          },
          ...errorResponses(400, 404, 410),
        },
      },
    },
    async (request, reply) => {
      const format = request.body.format ?? 'svg';
      const image = await invitations.qr(request.body.token, format);
      return reply.type(QR_CONTENT_TYPES[format]).send(image);
    },
  );
};

/** Operators invite into any territory that is not closed, list, revoke and see uses of every invitation. */
export const invitationAdminRoutes: FastifyPluginAsyncTypebox<{ invitations: InvitationService }> = async (app, { invitations }) => {
  app.post(
    '/admin/invitations',
    {
      // Letting people into an invite-only territory is the operator's call; moderators may list and revoke.
      config: { adminRole: 'admin' },
      schema: {
        tags: ['admin', 'federation', 'invitations'],
        summary: 'Invite someone into a territory (operator)',
        description: 'As `POST /invitations`, into any territory that is not closed (admin role). Audited with the admin as actor.',
        security: [{ adminToken: [] }],
        body: Type.Object({ territory: TerritoryCode, ...InvitationBody }, { additionalProperties: false }),
        response: { 201: Created, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const created = await invitations.createByOperator(adminActor(request), request.body);
      return reply.code(201).send({ ...created, correlationId: request.id });
    },
  );

  app.get(
    '/admin/invitations',
    {
      schema: {
        tags: ['admin', 'federation', 'invitations'],
        summary: 'Every invitation (of one territory)',
        security: [{ adminToken: [] }],
        querystring: Type.Object({ territory: Type.Optional(TerritoryCode) }, { additionalProperties: false }),
        response: { 200: body({ invitations: Type.Array(InvitationSchema) }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => ({ invitations: await invitations.list(null, request.query.territory), correlationId: request.id }),
  );

  app.post(
    '/admin/invitations/:id/revoke',
    {
      schema: {
        tags: ['admin', 'federation', 'invitations'],
        summary: 'Withdraw any invitation',
        security: [{ adminToken: [] }],
        params: IdParams,
        response: { 200: body({ invitation: InvitationSchema }), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => ({ invitation: await invitations.revoke(null, request.params.id, adminActor(request)), correlationId: request.id }),
  );

  app.get(
    '/admin/invitations/:id/uses',
    {
      schema: {
        tags: ['admin', 'federation', 'invitations'],
        summary: 'How an invitation was used',
        security: [{ adminToken: [] }],
        params: IdParams,
        response: { 200: Uses, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => ({ ...(await invitations.uses(null, request.params.id)), correlationId: request.id }),
  );
};

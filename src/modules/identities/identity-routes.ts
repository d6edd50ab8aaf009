import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { body, errorResponses } from '../../http/schemas.js';
import type { IdentityService } from './identity-service.js';

const JRD_TYPE = 'application/jrd+json';

const PublicIdentityBody = Type.Object(
  {
    handle: Type.String(),
    displayName: Type.String(),
    avatarUrl: Type.Union([Type.String(), Type.Null()]),
    address: Type.String({ description: '`handle@territory` (spec 004).' }),
    matrixId: Type.String({ description: '`@handle:<matrix domain of the territory>`.' }),
    aliases: Type.Array(Type.String(), { description: 'Old addresses and old Matrix ids, from territories the person moved away from.' }),
    publicKeyHash: Type.String({ description: 'SHA-256(handle::territory::uuid) as hex, fixed when the handle was claimed (spec 004).' }),
    did: Type.Optional(Type.String({ description: 'The did:key (`did:key:z6Mk…`) of the person\'s ed25519 key, when they hold one.' })),
    territory: Type.Object({ code: Type.String(), name: Type.String() }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

const Jrd = Type.Object(
  {
    subject: Type.String({ description: 'The current `acct:` address, also when an old one was asked (RFC 7033 §4.4.1).' }),
    aliases: Type.Array(Type.String()),
    properties: Type.Record(Type.String(), Type.String()),
    links: Type.Array(
      Type.Object({ rel: Type.String(), type: Type.Optional(Type.String()), href: Type.String() }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false, description: 'A JSON Resource Descriptor (RFC 7033 §4.4), served as application/jrd+json.' },
);

const HandleInput = Type.String({ minLength: 1, maxLength: 100 });

/** The public identity of a handle: for anyone, with no session, cookie or visitor identity. */
export const identityRoutes: FastifyPluginAsyncTypebox<{ identities: IdentityService }> = async (app, { identities }) => {
  app.get(
    '/identities/:handle',
    {
      schema: {
        tags: ['federation'],
        summary: 'The public identity behind a handle',
        description:
          'Display name, avatar, addresses (current and old), Matrix id, public key hash, did:key and territory of a live ' +
          'persona\'s handle (any case). A deactivated, deleted or rotated-away persona is 404 IDENTITY_NOT_FOUND at once. ' +
          'Limited per client (LOOKUPS_PER_CLIENT per LOOKUP_WINDOW_SECONDS, shared with WebFinger): 429 with Retry-After.',
        params: Type.Object({ handle: HandleInput }, { additionalProperties: false }),
        response: { 200: body({ identity: PublicIdentityBody }), ...errorResponses(400, 404, 429) },
      },
    },
    async (request) => {
      const { acct: _acct, oldAccts: _oldAccts, did, ...identity } = await identities.lookup(request.ip, request.params.handle);
      return { identity: { ...identity, aliases: [...identity.aliases], ...(did ? { did } : {}) }, correlationId: request.id };
    },
  );

  await app.register(async (scope) => {
    const webfinger = scope.withTypeProvider<TypeBoxTypeProvider>();
    // RFC 7033 §5: WebFinger is read by scripts on any site, so every answer (errors included)
    // allows any origin. It carries only public data and no credentials are ever honoured here.
    webfinger.addHook('onRequest', (_request, reply, done) => {
      reply.header('access-control-allow-origin', '*');
      reply.removeHeader('access-control-allow-credentials');
      done();
    });
    webfinger.get(
      '/.well-known/webfinger',
      {
        schema: {
          tags: ['federation'],
          summary: 'WebFinger: resolve acct:handle@domain (RFC 7033, RFC 7565)',
          description:
            'Answers a JRD (`application/jrd+json`) for `resource=acct:handle@domain`: `subject` is the current address, also ' +
            'for the old address of a person who moved territory. Repeated `rel` parameters keep only those links (§4.3). ' +
            'Errors are JSON bodies with code, message and correlationId: 400 for a missing or non-acct resource, 404 for an ' +
            'unknown or retired handle or a domain we do not serve, 429 beyond the per-client lookup limit.',
          querystring: Type.Object(
            {
              resource: Type.String({ minLength: 1, maxLength: 400, description: 'acct:handle@domain' }),
              rel: Type.Optional(Type.Union([Type.String({ maxLength: 400 }), Type.Array(Type.String({ maxLength: 400 }), { maxItems: 20 })])),
            },
            // Lenient on purpose: a client's extra parameter (a cache-buster) is no reason to refuse a lookup.
            {},
          ),
          response: { 200: { content: { [JRD_TYPE]: { schema: Jrd } } }, ...errorResponses(400, 404, 429) },
        },
      },
      async (request, reply) => {
        const { rel } = request.query;
        const rels = rel === undefined ? [] : Array.isArray(rel) ? rel : [rel];
        const jrd = await identities.webfinger(request.ip, request.query.resource, rels);
        // Already serialized by the service (a string is sent as is); the schema above documents its shape.
        return reply.type(JRD_TYPE).send(jrd as never);
      },
    );
  });
};

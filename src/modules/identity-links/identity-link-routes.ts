import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type, { type TSchema } from 'typebox';
import type { SignInStrategy } from '../../auth/strategy.js';
import { AppError } from '../../errors.js';
import { body, errorResponses } from '../../http/schemas.js';
import { signedInCaller } from '../../http/visitor.js';
import type { SessionContext } from '../sessions/session.js';
import type { IdentityLinkService } from './identity-link-service.js';

const Mode = Type.Union([Type.Literal('linked'), Type.Literal('partial'), Type.Literal('isolated')]);
const Ref = Type.String({ pattern: '^[A-Za-z0-9_-]{22}$', description: 'An account reference from GET /api/v2/auth/identity-graph.' });

const NullableString = (description: string, pattern?: string) =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], description, ...(pattern ? { pattern } : {}) });
const HEX_SHA256 = '^[0-9a-f]{64}$';

const Graph = body({
  accounts: Type.Array(
    Type.Object({
      ref: Type.String(),
      type: Type.String(),
      identifier: Type.String({ description: 'Masked: enough to recognise, not to copy.' }),
      provider: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
      verified: Type.Boolean(),
      privacyMode: Mode,
      selectedProfileIds: Type.Array(Type.String({ format: 'uuid' })),
      current: Type.Boolean({ description: 'The method this session signed in with.' }),
      createdAt: Type.String({ format: 'date-time' }),
      did: NullableString('A `key` method\'s ed25519 key as did:key (`did:key:z6Mk…`); null for other methods.', '^did:key:z6Mk'),
      agentPubKey: NullableString(
        'The same key as Holochain\'s AgentPubKey (`uhCAk…`: prefix, key and DHT location, u-base64url), ready for spec 004 phase 3.',
        '^uhCAk[A-Za-z0-9_-]{48}$',
      ),
      keyHash: NullableString('SHA-256 of the raw key, hex (spec 004 phase 2\'s public key hash).', HEX_SHA256),
    }),
  ),
  links: Type.Array(
    Type.Object({
      from: Type.String(),
      to: Type.String(),
      linkType: Type.Literal('direct'),
      privacyMode: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
      createdAt: Type.String({ format: 'date-time' }),
    }),
  ),
  profiles: Type.Array(
    Type.Object({
      id: Type.String({ format: 'uuid' }),
      displayName: Type.String(),
      handle: NullableString('The persona\'s handle, if it claimed one.'),
      publicKeyHash: NullableString('Spec 004\'s SHA-256(handle::territory::uuid), fixed at claim.', HEX_SHA256),
      keyHash: NullableString('SHA-256 of your ed25519 key, standing on the handle once you have one.', HEX_SHA256),
    }),
    { description: 'The live personas this session may act as.' },
  ),
});

export interface IdentityLinkRoutesDeps {
  readonly links: IdentityLinkService;
  readonly strategies: ReadonlyMap<string, SignInStrategy>;
}

/** Spec 003's identity graph: link sign-in methods, see them, choose what each may see, unlink. */
export const identityLinkRoutes: FastifyPluginAsyncTypebox<IdentityLinkRoutesDeps> = async (app, { links, strategies }) => {
  const methods = [...strategies.values()];

  async function signedIn(request: FastifyRequest): Promise<SessionContext> {
    const caller = await signedInCaller(request);
    // A guest sees its graph, but changes none: its cookie outlives every sign-out, so it never
    // stands in for a person (sign in with the method, then bring the guest along: targetType guest).
    if (!caller) throw new AppError('SESSION_REQUIRED', 'Sign in first: linking and unlinking belong to a signed-in person.');
    return caller;
  }

  const linkBodies: TSchema[] = [
    Type.Object(
      { targetType: Type.Literal('guest'), privacyMode: Type.Optional(Mode) },
      { additionalProperties: false, description: 'Brings this browser\'s guest identity (anon_id) along: its personas and its accountability.' },
    ),
    ...methods.map((strategy) =>
      Type.Object(
        {
          targetType: Type.Literal(strategy.name),
          targetIdentifier: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
          privacyMode: Type.Optional(Mode),
          proof: strategy.proofBody,
        },
        { additionalProperties: false },
      ),
    ),
  ];

  app.post(
    '/api/v2/auth/link-accounts',
    {
      config: { changesPublicIdentity: true },
      schema: {
        tags: ['identity graph'],
        summary: 'Link another sign-in method (spec 003)',
        description:
          'Needs a fresh strong sign-in (STEP_UP_REQUIRED otherwise) and the target method\'s own proof, made with ' +
          '`POST /api/v2/auth/challenge {purpose: "link"}`: never an unverified or merely matching email. A method that ' +
          'belongs to someone else answers 409 IDENTITY_TAKEN, naming nobody. Linking merges accountability: the stricter ' +
          'risk and the higher abuse score win.',
        body: linkBodies.length === 1 ? (linkBodies[0] as TSchema) : Type.Union(linkBodies),
        response: { 200: Graph, ...errorResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request) => {
      const caller = await signedIn(request);
      const input = request.body as { targetType: string; targetIdentifier?: string; privacyMode?: 'linked' | 'partial' | 'isolated'; proof?: Record<string, unknown> };
      const graph = await links.link(
        caller,
        {
          targetType: input.targetType as never,
          targetIdentifier: input.targetIdentifier,
          privacyMode: input.privacyMode ?? 'linked',
          proof: input.proof ?? {},
        },
        { client: request.ip, anonToken: request.anon.isNew ? null : request.anon.token },
      );
      return { ...graph, correlationId: request.id };
    },
  );

  app.get(
    '/api/v2/auth/identity-graph',
    {
      schema: {
        tags: ['identity graph'],
        summary: 'Your sign-in methods and their links',
        description:
          'Masked identifiers, never internal ids; inferred links never show. An isolated method sees only itself; the others ' +
          'do not see it. A guest (the `anon_id` cookie, or a guest API token) is an account too: it sees itself and its ' +
          'personas. A `key` method shows its did:key, Holochain AgentPubKey and key hash; each persona its handle\'s hashes.',
        response: { 200: Graph, ...errorResponses(401) },
      },
    },
    // Any caller, a guest included (never started here: 401 SESSION_REQUIRED for a visitor without one).
    async (request) => ({ ...(await links.graph(await request.caller())), correlationId: request.id }),
  );

  app.put(
    '/api/v2/auth/link-privacy',
    {
      schema: {
        tags: ['identity graph'],
        summary: 'Change a method\'s privacy mode',
        description:
          '`linked`: acts as every persona of your non-isolated methods. `partial`: its own plus `profileIds`. `isolated`: only ' +
          'its own, and no other method sees them. `account` defaults to the method of this session.',
        body: Type.Object(
          {
            account: Type.Optional(Ref),
            privacyMode: Mode,
            profileIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 100, uniqueItems: true })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Graph, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const caller = await signedIn(request);
      const { account, privacyMode, profileIds = [] } = request.body;
      return { ...(await links.setPrivacy(caller, account, privacyMode, profileIds)), correlationId: request.id };
    },
  );

  app.delete(
    '/api/v2/auth/accounts/:ref',
    {
      config: { changesPublicIdentity: true },
      schema: {
        tags: ['identity graph'],
        summary: 'Unlink (remove) one of your sign-in methods',
        description: 'Needs a fresh strong sign-in. The last method cannot go (409 LAST_SIGN_IN_METHOD). Its personas stay yours.',
        params: Type.Object({ ref: Ref }),
        response: { 200: Graph, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => ({ ...(await links.unlink(await signedIn(request), request.params.ref)), correlationId: request.id }),
  );
};

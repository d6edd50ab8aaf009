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
    if (!caller) throw new AppError('SESSION_REQUIRED', 'Sign in first: the identity graph belongs to a signed-in person.');
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
        description: 'Masked identifiers, never internal ids. An isolated method sees only itself; the others do not see it.',
        response: { 200: Graph, ...errorResponses(401) },
      },
    },
    async (request) => ({ ...(await links.graph(await signedIn(request))), correlationId: request.id }),
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

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type, { type TSchema } from 'typebox';
import type { Clock } from '../clock.js';
import { newToken } from '../crypto/tokens.js';
import { AppError } from '../errors.js';
import { body, errorResponses } from '../http/schemas.js';
import { applySignInCookies, browserOf } from '../http/sign-in-cookies.js';
import { signedInCaller } from '../http/visitor.js';
import type { SessionService } from '../modules/sessions/session-service.js';
import type { StepUpService } from '../modules/step-up/step-up-service.js';
import type { AuthenticateService, ClientKind } from './authenticate-service.js';
import type { CeremonyPurpose } from './strategy.js';
import type { Profile, ProfileRepository } from './profile-repository.js';
import type { TokenPair, TokenService } from './tokens/token-service.js';

/** Sign-in bodies are small; WebAuthn responses are the largest, a few kilobytes. */
const AUTH_BODY_LIMIT = 32 * 1024;

const Purpose = Type.Union([Type.Literal('sign-in'), Type.Literal('link'), Type.Literal('step-up')], {
  description: 'What the proof will be used for (default `sign-in`): `link` (POST /api/v2/auth/link-accounts) or `step-up`.',
});

const Client = Type.Union([Type.Literal('browser'), Type.Literal('api')], {
  description: '`browser` (default): the `__Host-session` cookie is set. `api`: access and refresh tokens are returned instead.',
});

export const ProfileSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String({ description: 'The persona\'s display name.' }),
  isActive: Type.Boolean({ description: 'True for the persona this session acts as.' }),
  trustLevel: Type.Union([Type.Literal('NEW'), Type.Literal('REGULAR'), Type.Literal('TRUSTED')]),
  sessionWalletAddress: Type.Unsafe<string | null>({ type: ['string', 'null'], description: 'The persona\'s session wallet, once made.' }),
});

const Authenticated = body({
  isNewUser: Type.Boolean({ description: 'True when this sign-in created the person (a default persona was made).' }),
  profiles: Type.Array(ProfileSchema),
  accessToken: Type.Optional(Type.String({ description: 'API clients: a JWT (EdDSA) to send as `Authorization: Bearer`.' })),
  tokenType: Type.Optional(Type.Literal('Bearer')),
  expiresIn: Type.Optional(Type.Integer({ description: 'Seconds the access token lives.' })),
  refreshToken: Type.Optional(Type.String({ description: 'API clients: single use; POST /api/v2/auth/refresh trades it for a new pair.' })),
});

const Tokens = body({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer(),
  refreshToken: Type.String(),
});

export interface AuthRoutesDeps {
  readonly auth: AuthenticateService;
  readonly sessions: SessionService;
  readonly tokens: TokenService;
  readonly profiles: ProfileRepository;
  readonly stepUp: StepUpService;
  readonly clock: Clock;
  readonly sessionMaxAgeSeconds: number;
}

/**
 * Spec 003's unified authentication: every sign-in method through one pair of routes. Open to a
 * banned browser on purpose, as /auth/login is: signing in is how a ban reaches the account, and
 * the answer for a banned person is ACCOUNT_SUSPENDED after the proof checks out.
 */
export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesDeps> = async (app, deps) => {
  const { auth, sessions, tokens, profiles } = deps;
  const bodyLimit = Math.min(AUTH_BODY_LIMIT, app.initialConfig.bodyLimit ?? AUTH_BODY_LIMIT);
  const strategies = [...auth.strategies.values()];
  const names = ['guest', ...strategies.map((strategy) => strategy.name)];
  const socialProviders = [...(auth.strategies.get('social')?.providers ?? [])];

  const withStrategy = (name: string, properties: Record<string, TSchema>, description?: string) =>
    Type.Object({ strategy: Type.Literal(name), ...properties }, { additionalProperties: false, ...(description ? { description } : {}) });
  const oneOf = (schemas: TSchema[]) => (schemas.length === 1 ? (schemas[0] as TSchema) : Type.Union(schemas));

  async function answer(request: FastifyRequest, client: ClientKind, accountId: string, activePersonaId: string | null, pair: TokenPair | null, isNewUser: boolean) {
    const list: Profile[] = await profiles.list(accountId, activePersonaId);
    return { isNewUser, profiles: list, ...(client === 'api' && pair ? pair : {}), correlationId: request.id };
  }

  app.get(
    '/api/v2/auth/strategies',
    {
      schema: {
        tags: ['auth'],
        summary: 'The sign-in methods this deployment offers',
        response: {
          200: body({
            strategies: Type.Array(Type.String()),
            socialProviders: Type.Array(Type.String(), { description: 'The OIDC providers to offer as "Sign in with …" buttons (names of OIDC_PROVIDERS).' }),
          }),
        },
      },
    },
    async (request) => ({ strategies: names, socialProviders, correlationId: request.id }),
  );

  if (strategies.length > 0) {
    app.post(
      '/api/v2/auth/challenge',
      {
        bodyLimit,
        config: { allowWhenBanned: true },
        schema: {
          tags: ['auth'],
          summary: 'Start a sign-in ceremony',
          description:
            'Answers what the method needs next: a nonce to sign (wallet), a code sent by mail (email), an authorization ' +
            'URL (social), WebAuthn options (passkey), a challenge to sign (key). Every challenge is short-lived and single use.',
          body: oneOf(strategies.map((strategy) => withStrategy(strategy.name, { purpose: Type.Optional(Purpose), ...strategy.challengeBody.properties }))),
          response: {
            200: oneOf(strategies.map((strategy) => body(strategy.challengeResponse.properties))),
            ...errorResponses(400, 401, 403, 413, 429),
          },
        },
      },
      async (request) => {
        const { strategy, purpose = 'sign-in', ...input } = request.body as { strategy: string; purpose?: CeremonyPurpose } & Record<string, unknown>;
        // Linking and step-up ceremonies belong to a signed-in person, and depend on who asks (a
        // passkey's exclude or allow list); a step-up that could not count sends no code.
        const caller = purpose === 'sign-in' ? null : await signedInCaller(request);
        if (purpose !== 'sign-in' && !caller) throw new AppError('SESSION_REQUIRED', 'Sign in first: this ceremony links to or confirms a signed-in person.');
        if (purpose === 'step-up' && caller) await deps.stepUp.allowCeremony(caller, strategy);
        const challenge = await auth.challenge(strategy, input, { client: request.ip, purpose, accountId: caller?.accountId ?? null });
        return { ...challenge, correlationId: request.id };
      },
    );
  }

  app.post(
    '/api/v2/auth/authenticate',
    {
      bodyLimit,
      config: { allowWhenBanned: true },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with any method (spec 003)',
        description:
          'The first authentication with a method creates its account, an invisible accountability profile and a default ' +
          'persona (`isNewUser: true`). Browsers get the `__Host-session` cookie (and a rotated `anon_id`); API clients ' +
          '(`client: "api"`) get a short-lived access token and a single-use refresh token. `guest` starts (or resumes) the ' +
          'anonymous identity.',
        body: oneOf([
          withStrategy('guest', { client: Type.Optional(Client) }, 'The anonymous identity of the `anon_id` cookie (browsers), or a new one (API clients).'),
          ...strategies.map((strategy) => withStrategy(strategy.name, { client: Type.Optional(Client), ...strategy.proofBody.properties })),
        ]),
        response: { 200: Authenticated, ...errorResponses(400, 401, 403, 409, 413, 429) },
      },
    },
    async (request, reply) => {
      const { strategy, client = 'browser', ...input } = request.body as { strategy: string; client?: ClientKind } & Record<string, unknown>;
      if (strategy === 'guest') return guest(request, client);
      const result = await auth.authenticate(strategy, input, browserOf(request), client);
      applySignInCookies(request, reply, result, deps.clock, deps.sessionMaxAgeSeconds);
      const pair = result.sessionPublicId && result.refreshToken ? await tokens.pairFor(result.sessionPublicId, result.refreshToken) : null;
      return answer(request, client, result.accountId, result.activePersonaId, pair, result.isNewUser);
    },
  );

  /** Guests: a browser's `anon_id` identity (started now if needed), or a new one for an API client. */
  async function guest(request: FastifyRequest, client: ClientKind) {
    const token = client === 'api' ? newToken() : request.anon.token;
    const started = await sessions.startGuest(token, client, { newToken: client === 'api' || request.anon.isNew });
    if (started.context.banned) throw new AppError('ACCOUNT_SUSPENDED', 'This account is suspended. You can appeal the decision.');
    const { context } = started;
    const pair = client === 'api' ? await tokens.issue(context.sessionId, context.sessionPublicId) : null;
    return answer(request, client, context.accountId, context.persona?.id ?? null, pair, started.created);
  }

  app.post(
    '/api/v2/auth/refresh',
    {
      bodyLimit,
      config: { allowWhenBanned: true },
      schema: {
        tags: ['auth'],
        summary: 'Trade a refresh token for a new access and refresh token',
        description:
          'Refresh tokens are single use. Presenting one that was already used ends its session (401 REFRESH_TOKEN_REUSED): ' +
          'someone else holds a copy.',
        body: Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
        response: { 200: Tokens, ...errorResponses(400, 401) },
      },
    },
    async (request) => ({ ...(await tokens.refresh(request.body.refreshToken)), correlationId: request.id }),
  );
};

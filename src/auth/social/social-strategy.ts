import { timingSafeEqual } from 'node:crypto';
import { authorizationCodeGrant, buildAuthorizationUrl, calculatePKCECodeChallenge, randomState } from 'openid-client';
import Type from 'typebox';
import type { OidcProviderConfig } from '../../config.js';
import { isTokenShaped, newToken, type TokenHasher } from '../../crypto/tokens.js';
import { AppError } from '../../errors.js';
import type { StrategyDeps } from '../strategies.js';
import type { CeremonyContext, SignInStrategy, VerifiedIdentity } from '../strategy.js';
import { checkIssuer, createOidcClients, type OidcClients } from './oidc-clients.js';
import { proofFailure } from './proof-failure.js';
import { isSameOriginPath } from './return-to.js';

/** Where providers send the browser back: the front end there posts the whole URL to authenticate. */
export const SOCIAL_CALLBACK_PATH = '/api/v2/auth/social/callback';

const Token = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });

const challengeBody = Type.Object(
  {
    provider: Type.String({ pattern: '^[a-z0-9_-]{1,32}$', description: 'A configured provider name (OIDC_PROVIDERS).' }),
    returnTo: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, pattern: '^/', description: 'A path on this origin to show after the sign-in.' }),
    ),
  },
  { additionalProperties: false },
);

const challengeResponse = Type.Object(
  {
    authorizationUrl: Type.String({ description: "Send the browser here: the provider's sign-in page." }),
    verificationId: Type.String({
      description: 'Keep it in this browser or app only (e.g. sessionStorage) and send it back with the callback URL.',
    }),
    returnTo: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const proofBody = Type.Object(
  {
    callbackUrl: Type.String({
      minLength: 1,
      maxLength: 8192,
      pattern: '^https?://',
      description: `The full address the provider sent the browser back to (${SOCIAL_CALLBACK_PATH}?code=…&state=…).`,
    }),
    verificationId: Token,
  },
  { additionalProperties: false },
);

/** What the verification record keeps: nothing a copy of the database could use. */
/**
 * What the global verification record keeps of a social sign-in: nothing about the person. The
 * `returnTo` path is not kept (the client is told it with the challenge and nothing reads it back),
 * since a path may carry whatever the client put in it.
 */
interface SocialState {
  readonly provider: string;
  /** Keyed hash binding the ceremony to the browser that started it (hex). */
  readonly binding: string;
  /** Step-up: the provider must have authenticated the person at most this long ago. */
  readonly maxAge?: number;
}

/**
 * The ceremony's secrets, derived rather than stored. `state` travels through the browser and the
 * provider; `verificationId` stays in the browser or app that started the sign-in. The PKCE
 * verifier and the nonce are HMACs of both under the server key, so the database holds nothing
 * usable and a callback URL seen by someone else (a log, a referrer, a shoulder) cannot be
 * redeemed without the starter's `verificationId`: that also stops login CSRF, where a victim's
 * browser is made to finish a sign-in the attacker started.
 */
function ceremonySecrets(hasher: TokenHasher, state: string, verificationId: string) {
  const derive = (use: string) => hasher.hash('challenge', `social-${use}:${state}:${verificationId}`);
  return {
    codeVerifier: derive('pkce').toString('base64url'),
    nonce: derive('nonce').toString('base64url'),
    binding: derive('binding'),
  };
}

/**
 * Sign-in with OpenID Connect (authorization code flow, PKCE S256, state and nonce), through
 * openid-client. Accounts are keyed by issuer and subject, never by email: an address is the
 * provider's say-so about a mailbox, and keying by it would let anyone who gets a provider to
 * assert that address take over the account registered with it.
 */
export function createSocialStrategy(
  deps: Pick<StrategyDeps, 'config' | 'verifications' | 'hasher' | 'clock'>,
  clients?: OidcClients,
): SignInStrategy | null {
  const { config, verifications, hasher } = deps;
  if (config.signIn.oidcProviders.length === 0) return null;
  config.signIn.oidcProviders.forEach(checkIssuer);
  const providers = new Map(config.signIn.oidcProviders.map((provider) => [provider.name, provider]));
  const oidc = clients ?? createOidcClients(deps.clock);
  const redirectUri = new URL(SOCIAL_CALLBACK_PATH, config.publicOrigin);

  async function configurationOf(name: string) {
    const provider = providers.get(name);
    if (!provider) throw new AppError('STRATEGY_UNAVAILABLE', `Sign-in with "${name}" is not offered here.`);
    const configuration = await oidc.configurationOf(provider);
    if (!configuration) {
      throw new AppError('STRATEGY_UNAVAILABLE', 'The provider cannot be reached right now; try again later.');
    }
    return { provider, configuration };
  }

  /** The callback as sent to the token endpoint: our redirect_uri exactly, with the provider's parameters. */
  function callbackOf(callbackUrl: string): URL {
    const callback = URL.canParse(callbackUrl) ? new URL(callbackUrl) : null;
    if (!callback || callback.origin !== redirectUri.origin || callback.pathname !== redirectUri.pathname) {
      throw new AppError('VALIDATION_FAILED', `callbackUrl must be the address the provider sent the browser back to (${redirectUri.href}).`);
    }
    const current = new URL(redirectUri);
    current.search = callback.search;
    return current;
  }

  return {
    name: 'social',
    authenticator: true,
    providers: [...providers.keys()],
    challengeBody,
    challengeResponse,
    proofBody,

    async challenge(input, context: CeremonyContext) {
      const { provider: name, returnTo } = input as { provider: string; returnTo?: string };
      if (returnTo !== undefined && !isSameOriginPath(returnTo)) {
        throw new AppError('VALIDATION_FAILED', 'returnTo must be a path on this site, such as /board.');
      }
      const { configuration } = await configurationOf(name);
      const state = randomState();
      const verificationId = newToken();
      const secrets = ceremonySecrets(hasher, state, verificationId);
      // A step-up must be a fresh authentication, not a provider session reused from last week.
      const maxAge = context.purpose === 'step-up' ? config.signIn.stepUpWindowSeconds : undefined;
      const authorizationUrl = buildAuthorizationUrl(configuration, {
        redirect_uri: redirectUri.href,
        scope: 'openid',
        state,
        nonce: secrets.nonce,
        code_challenge: await calculatePKCECodeChallenge(secrets.codeVerifier),
        code_challenge_method: 'S256',
        ...(maxAge !== undefined ? { prompt: 'login', max_age: String(maxAge) } : {}),
      });
      const stored: SocialState = {
        provider: name,
        binding: secrets.binding.toString('hex'),
        ...(maxAge !== undefined ? { maxAge } : {}),
      };
      await verifications.create({
        strategy: 'social',
        challengeHash: hasher.hash('challenge', `social:${state}`),
        state: { ...stored },
        ttlSeconds: config.signIn.challengeTtlSeconds,
      });
      return { authorizationUrl: authorizationUrl.href, verificationId, ...(returnTo !== undefined ? { returnTo } : {}) };
    },

    async verify(input): Promise<VerifiedIdentity> {
      const { callbackUrl, verificationId } = input as { callbackUrl: string; verificationId: string };
      const callback = callbackOf(callbackUrl);
      const state = callback.searchParams.get('state');
      if (state === null || !isTokenShaped(state)) {
        throw new AppError('CHALLENGE_INVALID', 'This sign-in is unknown, expired or already used; start again.');
      }
      // Spent before anything is checked: a callback is good once, even under concurrent attempts.
      const record = await verifications.consume('social', hasher.hash('challenge', `social:${state}`));
      if (!record) throw new AppError('CHALLENGE_INVALID', 'This sign-in is unknown, expired or already used; start again.');
      const stored = record.state as unknown as SocialState;
      const secrets = ceremonySecrets(hasher, state, verificationId);
      if (!timingSafeEqual(Buffer.from(stored.binding, 'hex'), secrets.binding)) {
        throw new AppError('PROOF_INVALID', 'This sign-in was started by another browser or app; start again here.');
      }
      const { provider, configuration } = await configurationOf(stored.provider);
      let claims;
      try {
        // openid-client checks the response's iss (RFC 9207), redeems the code with the PKCE
        // verifier at the provider, then the ID token: signature, issuer, audience, expiry, nonce.
        const tokens = await authorizationCodeGrant(configuration, callback, {
          pkceCodeVerifier: secrets.codeVerifier,
          expectedState: state,
          expectedNonce: secrets.nonce,
          idTokenExpected: true,
          ...(stored.maxAge !== undefined ? { maxAge: stored.maxAge } : {}),
        });
        claims = tokens.claims();
      } catch (error) {
        throw proofFailure(error);
      }
      if (!claims) throw new AppError('PROOF_INVALID', 'The provider sent no ID token.');
      return identityOf(provider, claims.iss, claims.sub);
    },
  };
}

function identityOf(provider: OidcProviderConfig, issuer: string, subject: string): VerifiedIdentity {
  // Issuer and subject together are the only stable, unique key OpenID Connect gives (Core §5.7).
  return { type: 'social', identifier: `${issuer} ${subject}`, provider: provider.name, verified: true };
}

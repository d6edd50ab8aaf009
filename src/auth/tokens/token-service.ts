import { newToken, type TokenHasher } from '../../crypto/tokens.js';
import { AppError } from '../../errors.js';
import type { RefreshTokenRepository } from './refresh-token-repository.js';
import type { SigningKeyring } from './signing-keyring.js';

/** What an API client receives at sign-in and at every refresh. */
export interface TokenPair {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  /** Seconds the access token lives. */
  readonly expiresIn: number;
  /** Opaque, single-use: each refresh answers a new one, and presenting a spent one ends the session. */
  readonly refreshToken: string;
}

export interface TokenService {
  /** Access token for a session (by its public id) whose refresh token was just stored. */
  pairFor(sessionPublicId: string, refreshToken: string): Promise<TokenPair>;
  /** A first refresh token for an existing session (an API guest), and its access token. */
  issue(sessionId: string, sessionPublicId: string): Promise<TokenPair>;
  refresh(refreshToken: string): Promise<TokenPair>;
}

export interface TokenServiceDeps {
  readonly keyring: SigningKeyring;
  readonly refreshTokens: RefreshTokenRepository;
  readonly hasher: TokenHasher;
  readonly accessTtlSeconds: number;
  readonly evictProfile: (accountabilityProfileId: string) => Promise<void>;
}

export function createTokenService(deps: TokenServiceDeps): TokenService {
  const { keyring, refreshTokens, hasher } = deps;

  async function pairFor(sessionPublicId: string, refreshToken: string): Promise<TokenPair> {
    return { accessToken: await keyring.sign({ sessionId: sessionPublicId }), tokenType: 'Bearer', expiresIn: deps.accessTtlSeconds, refreshToken };
  }

  return {
    pairFor,

    async issue(sessionId, sessionPublicId) {
      const refreshToken = newToken();
      await refreshTokens.issue(sessionId, hasher.hash('refresh-token', refreshToken));
      return pairFor(sessionPublicId, refreshToken);
    },

    async refresh(refreshToken) {
      const next = newToken();
      const outcome = await refreshTokens.rotate(hasher.hash('refresh-token', refreshToken), hasher.hash('refresh-token', next));
      if (outcome.kind === 'rotated') return pairFor(outcome.sessionPublicId, next);
      if (outcome.kind === 'reused') {
        if (outcome.profileId) await deps.evictProfile(outcome.profileId);
        throw new AppError('REFRESH_TOKEN_REUSED', 'This refresh token was already used, so its session has been ended. Sign in again.');
      }
      throw new AppError('TOKEN_INVALID', 'The refresh token is invalid, or its session ended. Sign in again.');
    },
  };
}

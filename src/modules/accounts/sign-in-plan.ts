import type { TokenHasher } from '../../crypto/tokens.js';
import { identityLinkRekey } from '../identification/identification-rekey.js';
import { deviceLabelOf } from '../sessions/device-label.js';
import type { SignInPlan } from './sign-in-repository.js';

/** What the HTTP layer knows about the client authenticating. */
export interface Browser {
  /** The client address as Fastify computes it (proxies believed only per TRUST_PROXY). */
  readonly client: string;
  /** The token of a valid `anon_id` cookie the request came with, or null. */
  readonly anonToken: string | null;
  /** The token of the signed-in session cookie the request came with, or null. */
  readonly sessionToken: string | null;
  /** The User-Agent header, for the session list's device label. */
  readonly userAgent?: string | undefined;
}

/** The fresh secrets one authentication hands out; only their keyed hashes are stored. */
export interface SignInTokens {
  readonly sessionToken: string;
  readonly anonToken: string;
  /** For API clients only. */
  readonly refreshToken: string | null;
}

export interface SignInPlanSettings {
  readonly hasher: TokenHasher;
  readonly sessions: { readonly idleSeconds: number; readonly absoluteSeconds: number };
}

/** The writes every authentication makes besides its own (see `completeSignIn`). */
export function planSignIn(
  settings: SignInPlanSettings,
  browser: Browser,
  tokens: SignInTokens,
  stepUpCapable: boolean,
): SignInPlan {
  const { hasher } = settings;
  return {
    sessionTokenHash: hasher.hash('session', tokens.sessionToken),
    idleSeconds: settings.sessions.idleSeconds,
    absoluteSeconds: settings.sessions.absoluteSeconds,
    previousSessionHash: browser.sessionToken ? hasher.hash('session', browser.sessionToken) : null,
    anonymous: browser.anonToken
      ? {
          oldHash: hasher.hash('anonymous', browser.anonToken),
          newHash: hasher.hash('anonymous', tokens.anonToken),
          identityLink: identityLinkRekey(browser.anonToken, tokens.anonToken),
        }
      : null,
    stepUpCapable,
    deviceLabel: deviceLabelOf(browser.userAgent),
    refreshTokenHash: tokens.refreshToken ? hasher.hash('refresh-token', tokens.refreshToken) : null,
  };
}

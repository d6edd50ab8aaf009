import type { TokenHasher } from '../../crypto/tokens.js';
import type { Tx } from '../../db/database.js';
import { identityLinkRekey, type IdentityLinkRekey } from '../identification/identification-rekey.js';
import type { IdentificationRepository } from '../identification/identification-repository.js';
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
  /** Moves the browser's voluntary identification to the new anonymous token (and its person's territory). */
  readonly identification: Pick<IdentificationRepository, 'rotate'>;
}

/** The rotation's move of the identification row, bound to its keys; the home is known only in the transaction. */
const identityLinkMover =
  (identification: SignInPlanSettings['identification'], rekey: IdentityLinkRekey) =>
  (trx: Tx, home: string): Promise<boolean> =>
    identification.rotate(trx, rekey, home);

/** The writes every authentication makes besides its own (see `completeSignIn`). */
export function planSignIn(
  settings: SignInPlanSettings,
  browser: Browser,
  tokens: SignInTokens,
  stepUpCapable: boolean,
): SignInPlan {
  const { hasher, identification } = settings;
  return {
    sessionTokenHash: hasher.hash('session', tokens.sessionToken),
    idleSeconds: settings.sessions.idleSeconds,
    absoluteSeconds: settings.sessions.absoluteSeconds,
    previousSessionHash: browser.sessionToken ? hasher.hash('session', browser.sessionToken) : null,
    anonymous: browser.anonToken
      ? {
          oldHash: hasher.hash('anonymous', browser.anonToken),
          newHash: hasher.hash('anonymous', tokens.anonToken),
          moveIdentityLink: identityLinkMover(identification, identityLinkRekey(browser.anonToken, tokens.anonToken)),
        }
      : null,
    stepUpCapable,
    deviceLabel: deviceLabelOf(browser.userAgent),
    refreshTokenHash: tokens.refreshToken ? hasher.hash('refresh-token', tokens.refreshToken) : null,
  };
}

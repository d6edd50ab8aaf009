import { randomUUID } from 'node:crypto';
import type { DataBox } from '../crypto/data-box.js';
import type { EmailBox } from '../crypto/email-box.js';
import { normalizeEmail } from '../crypto/email-box.js';
import type { Pseudonyms } from '../crypto/pseudonyms.js';
import { newToken, type TokenHasher } from '../crypto/tokens.js';
import { AppError } from '../errors.js';
import { methodLookupKey } from '../modules/accounts/account.js';
import { planSignIn, type Browser, type SignInPlanSettings } from '../modules/accounts/sign-in-plan.js';
import { limiterKey, refuseIfThrottled, type AttemptLimiter } from '../rate-limit/attempt-limiter.js';
import { displayNameKey } from '../modules/personas/display-name.js';
import { generateGuestName } from '../modules/personas/guest-names.js';
import type { MethodAccountRepository, MethodSignInResult } from './method-account-repository.js';
import type { CeremonyContext, SignInStrategy, StrategyName, VerifiedIdentity } from './strategy.js';

/** Browsers get an HttpOnly cookie; API clients a refresh token and short-lived access tokens. */
export type ClientKind = 'browser' | 'api';

/** An authentication that went through (the person may still be banned: `signedIn` false). */
export interface MethodAuthenticated {
  readonly isNewUser: boolean;
  readonly signedIn: boolean;
  /** Internal: for the routes to list the account's profiles and mint tokens; never serialized. */
  readonly accountId: string;
  /** The new session's public id (access tokens' `sid`). */
  readonly sessionPublicId: string | null;
  /** The persona the new session acts as (null when every persona is gone). */
  readonly activePersonaId: string | null;
  readonly sessionToken: string | null;
  readonly refreshToken: string | null;
  /** The browser's rotated anonymous token, when something hung off the old one. */
  readonly anonToken: string | null;
}

export interface AuthenticateService {
  /** The strategies this deployment offers, by name. */
  readonly strategies: ReadonlyMap<string, SignInStrategy>;
  challenge(name: string, input: Record<string, unknown>, context: CeremonyContext): Promise<Record<string, unknown>>;
  /** Runs the strategy's verification (the proof is spent whatever happens next). */
  verify(name: string, input: Record<string, unknown>, context: CeremonyContext): Promise<VerifiedIdentity>;
  authenticate(name: string, input: Record<string, unknown>, browser: Browser, client: ClientKind): Promise<MethodAuthenticated>;
  /** The keyed lookup of an identity's account, and its identifier sealed for that account. */
  accountKeys(identity: VerifiedIdentity, accountId: string): { lookupKey: Buffer; sealedIdentifier: ReturnType<DataBox['seal']> };
}

export interface AuthenticateServiceDeps {
  readonly strategies: ReadonlyMap<string, SignInStrategy>;
  readonly methods: MethodAccountRepository;
  readonly hasher: TokenHasher;
  readonly emails: EmailBox;
  /** Seals non-email identifiers (wallet addresses, OIDC subjects, credential ids, did:keys). */
  readonly identifiers: DataBox;
  readonly pseudonyms: Pseudonyms;
  readonly sessions: { readonly idleSeconds: number; readonly absoluteSeconds: number };
  readonly evictProfile: (accountabilityProfileId: string) => Promise<void>;
  readonly limiter: AttemptLimiter;
  /** Ceremonies one client may start per window, per method. */
  readonly challengeLimit: { readonly perClient: number; readonly windowSeconds: number };
  /** Carries the browser's voluntary identification to the rotated anonymous token (composeFederation's). */
  readonly identification: SignInPlanSettings['identification'];
}

/** Display-name draws before giving up (see guest-names.ts for the odds), and races lost before retrying stops. */
const ATTEMPTS = 8;

export function createAuthenticateService(deps: AuthenticateServiceDeps): AuthenticateService {
  const { strategies, methods, hasher, emails, identifiers, pseudonyms, evictProfile } = deps;

  function strategyOf(name: string): SignInStrategy {
    const strategy = strategies.get(name);
    if (!strategy) throw new AppError('STRATEGY_UNAVAILABLE', `Sign-in with "${name}" is not offered here.`);
    return strategy;
  }

  function accountKeys(identity: VerifiedIdentity, accountId: string) {
    if (identity.type === 'email') {
      const email = normalizeEmail(identity.identifier);
      return { lookupKey: emails.lookupKey(email), sealedIdentifier: emails.seal(accountId, email) };
    }
    return {
      lookupKey: methodLookupKey(hasher, identity.type, identity.identifier),
      sealedIdentifier: identifiers.seal(['account-identifier', accountId], Buffer.from(identity.identifier, 'utf8')),
    };
  }

  async function signIn(strategy: SignInStrategy, identity: VerifiedIdentity, browser: Browser, client: ClientKind): Promise<MethodAuthenticated> {
    const tokens = { sessionToken: newToken(), anonToken: newToken(), refreshToken: client === 'api' ? newToken() : null };
    const plan = planSignIn(deps, browser, tokens, strategy.authenticator);
    let result: MethodSignInResult | undefined;
    for (let attempt = 0; attempt < ATTEMPTS && !result?.ok; attempt++) {
      const accountId = randomUUID();
      const personaId = randomUUID();
      const displayName = generateGuestName();
      result = await methods.signIn(
        {
          accountId,
          type: identity.type,
          ...accountKeys(identity, accountId),
          provider: identity.provider ?? null,
          identity,
          persona: { id: personaId, displayName, displayNameKey: displayNameKey(displayName), authorId: pseudonyms.authorId(personaId) },
        },
        plan,
      );
      if (!result.ok && result.reason === 'credential-in-use') {
        throw new AppError('CREDENTIAL_IN_USE', 'This credential is already registered. Sign in with it instead.');
      }
    }
    if (!result?.ok) throw new AppError('GUEST_START_FAILED', 'Could not complete the sign-in; please try again.');
    // After commit: no node may keep serving a session this authentication ended or changed.
    await Promise.all([...new Set(result.evict)].map(evictProfile));
    return {
      isNewUser: result.isNewUser,
      signedIn: result.sessionCreated,
      accountId: result.accountId,
      sessionPublicId: result.sessionPublicId,
      activePersonaId: result.persona?.id ?? null,
      sessionToken: result.sessionCreated && client === 'browser' ? tokens.sessionToken : null,
      refreshToken: result.sessionCreated ? tokens.refreshToken : null,
      anonToken: result.anonymousRotated ? tokens.anonToken : null,
    };
  }

  return {
    strategies,
    async challenge(name, input, context) {
      const strategy = strategyOf(name);
      // Every ceremony writes a verification record (and some send mail): one client may start only
      // so many. The key is a keyed hash, so the limiter's store never holds an address.
      const key = limiterKey(hasher, `challenge-${name}`, context.client);
      const { perClient, windowSeconds } = deps.challengeLimit;
      refuseIfThrottled(await deps.limiter.reserve(key, perClient, windowSeconds));
      return strategy.challenge(input, context);
    },
    verify: (name, input, context) => strategyOf(name).verify(input, context),
    async authenticate(name, input, browser, client) {
      const strategy = strategyOf(name);
      const identity = await strategy.verify(input, { client: browser.client, purpose: 'sign-in', accountId: null });
      return signIn(strategy, identity, browser, client);
    },
    accountKeys,
  };
}

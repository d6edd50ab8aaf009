import type { PasswordHasher } from '../../crypto/passwords.js';
import { newToken, type TokenHasher } from '../../crypto/tokens.js';
import { AppError } from '../../errors.js';
import { refuseIfThrottled } from '../../rate-limit/attempt-limiter.js';
import { normalizeHandle } from '../handles/handle.js';
import type { SessionContext } from '../sessions/session.js';
import { handleLookupKey } from './account.js';
import type { AccountRepository } from './account-repository.js';
import { finishSignIn, type Authenticated } from './account-service.js';
import type { LoginThrottle } from './login-throttle.js';
import { passwordWeaknesses } from './password-policy.js';
import { newRecoveryCodes, normalizeRecoveryCode, recoveryCodeHash } from './recovery-code.js';
import type { RecoveryRepository } from './recovery-repository.js';
import { planSignIn, type Browser, type SignInPlanSettings } from './sign-in-plan.js';

export interface RecoverInput {
  readonly handle: string;
  readonly recoveryCode: string;
  readonly newPassword: string;
}

type Caller = Pick<SessionContext, 'accountId' | 'accountType' | 'accountabilityProfileId'>;

export interface RecoveryService {
  /**
   * A forgotten password, without email: one recovery code buys a new password and a session; every
   * other session of the account ends. An unknown handle and a wrong (or used) code are one answer.
   */
  recover(input: RecoverInput, browser: Browser, correlationId: string): Promise<Authenticated>;
  /** How many unused codes the caller's handle account has. */
  remaining(caller: Caller): Promise<number>;
  /** A fresh set of codes (the caller has stepped up); the old ones stop working. Shown once. */
  regenerate(caller: Caller, correlationId: string): Promise<string[]>;
}

export interface RecoveryServiceDeps {
  readonly recovery: RecoveryRepository;
  /** To find the handle account of a caller signed in another way (a linked key, say). */
  readonly accounts: Pick<AccountRepository, 'passwordAccountFor'>;
  readonly passwords: PasswordHasher;
  readonly throttle: LoginThrottle;
  readonly hasher: TokenHasher;
  readonly sessions: { readonly idleSeconds: number; readonly absoluteSeconds: number };
  readonly evictProfile: (accountabilityProfileId: string) => Promise<void>;
  /** Carries the browser's voluntary identification to the rotated anonymous token (composeFederation's). */
  readonly identification: SignInPlanSettings['identification'];
}

const INVALID_RECOVERY = 'The handle or the recovery code is wrong, or the code was used already.';

export function createRecoveryService(deps: RecoveryServiceDeps): RecoveryService {
  const { recovery, passwords, throttle, hasher } = deps;

  async function handleAccountOf(caller: Caller) {
    const account = caller.accountType === 'guest' ? null : await deps.accounts.passwordAccountFor({ accountId: caller.accountId, profileId: caller.accountabilityProfileId });
    if (account?.type !== 'handle') {
      throw new AppError('VALIDATION_FAILED', 'Recovery codes belong to an account registered with a handle and no email: sign in with yours.');
    }
    return { accountId: account.accountId, profileId: caller.accountabilityProfileId };
  }

  return {
    async recover(input, browser, correlationId) {
      const handle = normalizeHandle(input.handle);
      const weaknesses = passwordWeaknesses(input.newPassword, handle);
      if (weaknesses.length > 0) throw new AppError('WEAK_PASSWORD', `Choose another password: ${weaknesses.join('; ')}.`);
      const lookupKey = handleLookupKey(hasher, handle);
      // The login's own counters: a code is a password for this purpose, and guesses at either
      // draw on one budget per handle and per client.
      refuseIfThrottled(await throttle.reserveLogin(lookupKey, browser.client));
      // Hashed before anything is known about the handle, so an unknown one costs the same argon2id
      // as a known one with a wrong code, and a consumed code never waits on the hash.
      const passwordHash = await passwords.hash(input.newPassword);
      const account = await recovery.findHandleAccount(lookupKey);
      const code = normalizeRecoveryCode(input.recoveryCode);
      if (!account || code === null) throw new AppError('INVALID_CREDENTIALS', INVALID_RECOVERY);

      const [sessionToken, anonToken] = [newToken(), newToken()];
      // A recovery code is not an authenticator for step-up: it is spent, and the session it makes
      // must sign in again (with the new password) before sensitive changes.
      const plan = planSignIn(deps, browser, { sessionToken, anonToken, refreshToken: null }, false);
      const owner = { accountId: account.accountId, profileId: account.profileId };
      const result = await recovery.recover(owner, recoveryCodeHash(hasher, account.accountId, code), passwordHash, plan, correlationId);
      if (!result.recovered) throw new AppError('INVALID_CREDENTIALS', INVALID_RECOVERY);
      await throttle.loginSucceeded(lookupKey, browser.client);
      return finishSignIn(deps.evictProfile, result, result.persona, sessionToken, anonToken);
    },

    async remaining(caller) {
      return recovery.remaining(await handleAccountOf(caller));
    },

    async regenerate(caller, correlationId) {
      const owner = await handleAccountOf(caller);
      const codes = newRecoveryCodes();
      await recovery.regenerate(owner, codes.map((code) => recoveryCodeHash(hasher, owner.accountId, code)), correlationId);
      return codes;
    },
  };
}

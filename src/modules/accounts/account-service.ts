import { randomUUID } from 'node:crypto';
import type { DataBox } from '../../crypto/data-box.js';
import { normalizeEmail, type EmailBox } from '../../crypto/email-box.js';
import type { PasswordHasher } from '../../crypto/passwords.js';
import type { Pseudonyms } from '../../crypto/pseudonyms.js';
import { newToken, type TokenHasher } from '../../crypto/tokens.js';
import { AppError } from '../../errors.js';
import { refuseIfThrottled } from '../../rate-limit/attempt-limiter.js';
import type { SessionContext } from '../sessions/session.js';
import { displayNameKey, displayNameProblem, normalizeDisplayName } from '../personas/display-name.js';
import { normalizeHandle } from '../handles/handle.js';
import { handleLookupKey } from './account.js';
import type { AccountRepository, EmailAccount, NewPasswordMethod, PasswordAccount, PersonaRef } from './account-repository.js';
import type { LoginThrottle } from './login-throttle.js';
import { passwordWeaknesses } from './password-policy.js';
import { newRecoveryCodes, recoveryCodeHash } from './recovery-code.js';
import { planSignIn, type Browser, type SignInPlanSettings } from './sign-in-plan.js';
import type { SignInOutcome, SignInPlan } from './sign-in-repository.js';
import type { RegistrationResidence } from '../citizenships/registration-residence.js';

/** An authentication that went through. */
export interface Authenticated {
  /** False when the person is banned: the credentials were right, but no session was made. */
  readonly signedIn: boolean;
  readonly persona: PersonaRef | null;
  /** The new session's token (for the cookie); null when not signed in. */
  readonly sessionToken: string | null;
  /** The browser's new anonymous token when the old one rotated; the cookie must be replaced. */
  readonly anonToken: string | null;
}

/** A registration: signed in, with the handle claimed and, for a handle-only account, its recovery codes (shown once). */
export interface Registered extends Authenticated {
  readonly handle: string | null;
  readonly recoveryCodes: readonly string[] | null;
}

/** An email address, a handle, or both (spec 004: email is optional). */
export interface RegisterInput {
  readonly email?: string | undefined;
  readonly handle?: string | undefined;
  readonly password: string;
  readonly initialDisplayName: string;
  /** The territory to live in (spec 004); the default one when omitted. */
  readonly territory?: string | undefined;
  /** Needed for an invite-only territory; redeemed with the registration. */
  readonly invitation?: string | undefined;
}

/** Exactly one of email and handle. */
export interface LoginInput {
  readonly email?: string | undefined;
  readonly handle?: string | undefined;
  readonly password: string;
}

/** What handle sign-up needs from the federation side (built by federation-composition.ts). */
export interface HandleAccountPorts {
  /** A normalized, claimable handle, or the typed error (HANDLE_INVALID, HANDLE_RESERVED). */
  validate(input: string): Promise<{ handle: string; skeleton: string }>;
  /** The box every non-email method's identifier is sealed in, for the identity graph. */
  readonly identifiers: DataBox;
}

export interface AccountService {
  register(input: RegisterInput, browser: Browser, correlationId: string): Promise<Registered>;
  login(input: LoginInput, browser: Browser): Promise<Authenticated>;
  /**
   * A password step-up: checks the password of one of the person's own email or handle accounts,
   * under sign-in's attempt limits, and changes nothing else. Another person's account, a wrong
   * password and an unknown name all answer INVALID_CREDENTIALS, after the same work.
   */
  verifyOwnPassword(profileId: string, input: LoginInput, client: string): Promise<void>;
  /**
   * Sets or changes the password of the email or handle account the caller signed in with, or,
   * signed in another way, of the person's handle account (the caller has stepped up); every
   * other signed-in session of that account ends. Answers how many did.
   */
  setPassword(caller: Pick<SessionContext, 'sessionId' | 'accountId' | 'accountType' | 'accountabilityProfileId'>, password: string): Promise<number>;
}

export interface AccountServiceDeps {
  readonly accounts: AccountRepository;
  readonly passwords: PasswordHasher;
  readonly emails: EmailBox;
  readonly throttle: LoginThrottle;
  readonly hasher: TokenHasher;
  readonly pseudonyms: Pseudonyms;
  readonly sessions: { readonly idleSeconds: number; readonly absoluteSeconds: number };
  /** Drops a person's cached sessions on every node (after commit). */
  readonly evictProfile: (accountabilityProfileId: string) => Promise<void>;
  readonly handles: HandleAccountPorts;
  readonly residence: RegistrationResidence;
  /** Carries the browser's voluntary identification to the rotated anonymous token (composeFederation's). */
  readonly identification: SignInPlanSettings['identification'];
}

const INVALID_CREDENTIALS = 'The email address or the password is wrong.';
const INVALID_HANDLE_CREDENTIALS = 'The handle or the password is wrong.';
const NOT_YOUR_PASSWORD = 'That is not the password of your own email address or handle: the name or the password is wrong, or the account is not yours.';

/** Where a sealed account identifier is bound: the same binding the sign-in methods use. */
export const identifierBinding = (accountId: string) => ['account-identifier', accountId];

/** The finished authentication, after commit: no node may keep serving a session it ended or changed. */
export async function finishSignIn(
  evictProfile: (id: string) => Promise<void>,
  outcome: SignInOutcome,
  persona: PersonaRef | null,
  sessionToken: string,
  anonToken: string,
): Promise<Authenticated> {
  await Promise.all([...new Set(outcome.evict)].map(evictProfile));
  return {
    signedIn: outcome.sessionCreated,
    persona,
    sessionToken: outcome.sessionCreated ? sessionToken : null,
    anonToken: outcome.anonymousRotated ? anonToken : null,
  };
}

export function createAccountService(deps: AccountServiceDeps): AccountService {
  const { accounts, passwords, emails, throttle, hasher, pseudonyms, evictProfile, handles } = deps;

  function signInPlan(browser: Browser, sessionToken: string, anonToken: string): SignInPlan {
    // A password is an authenticator (NIST SP 800-63B-4): it can satisfy step-up.
    return planSignIn(deps, browser, { sessionToken, anonToken, refreshToken: null }, true);
  }

  const finish = (outcome: SignInOutcome, persona: PersonaRef | null, sessionToken: string, anonToken: string) =>
    finishSignIn(evictProfile, outcome, persona, sessionToken, anonToken);

  /** The policy keeps every name of the account out of its password. */
  function weaknessesOf(password: string, names: readonly string[]): void {
    const weaknesses = [...new Set(names.flatMap((name) => passwordWeaknesses(password, name)))];
    if (weaknesses.length > 0) throw new AppError('WEAK_PASSWORD', `Choose another password: ${weaknesses.join('; ')}.`);
  }

  function nameOf(account: PasswordAccount): string | null {
    if (!account.sealed) return null;
    if (account.type === 'email') return emails.open(account.accountId, account.sealed);
    return handles.identifiers.open(identifierBinding(account.accountId), account.sealed)?.toString('utf8') ?? null;
  }

  /**
   * The password account an email address or a handle names, its password checked under the sign-in
   * limits; INVALID_CREDENTIALS otherwise. With `owner`, only that person's account counts: a step-up
   * must never take the credentials of another account (and never says whether they were right).
   */
  async function checkPassword(input: LoginInput, client: string, owner: string | null): Promise<EmailAccount> {
    if ((input.email === undefined) === (input.handle === undefined)) {
      throw new AppError('VALIDATION_FAILED', 'Sign in with an email address or with a handle (one of them).');
    }
    const handle = input.handle === undefined ? null : normalizeHandle(input.handle);
    const lookupKey = handle === null ? emails.lookupKey(normalizeEmail(input.email!)) : handleLookupKey(hasher, handle);
    // Reserved before the password is checked: of N concurrent guesses against a limit of L,
    // at most L ever reach argon2 (see rate-limit/attempt-limiter.ts).
    refuseIfThrottled(await throttle.reserveLogin(lookupKey, client));
    const found = handle === null ? await accounts.findEmailAccount(lookupKey) : await accounts.findHandleAccount(lookupKey, handle);
    const account = found && (owner === null || found.profileId === owner) ? found : null;
    // No account, someone else's, or no password on it: the same work (one argon2id verification)
    // and the same answer as a wrong password, so neither the response nor its timing tells them apart.
    const valid = account?.passwordHash
      ? await passwords.verify(account.passwordHash, input.password)
      : await passwords.verifyNothing(input.password);
    if (!account?.passwordHash || !valid) {
      throw new AppError('INVALID_CREDENTIALS', owner !== null ? NOT_YOUR_PASSWORD : handle === null ? INVALID_CREDENTIALS : INVALID_HANDLE_CREDENTIALS);
    }
    await throttle.loginSucceeded(lookupKey, client);
    if (passwords.needsRehash(account.passwordHash)) {
      // The policy was raised since this hash was made; the password is at hand only now.
      await accounts.replacePasswordHash(account, account.passwordHash, await passwords.hash(input.password));
    }
    return account;
  }

  return {
    async register(input, browser, correlationId) {
      const email = input.email === undefined ? null : normalizeEmail(input.email);
      const handle = input.handle === undefined ? null : await handles.validate(input.handle);
      if (email === null && handle === null) throw new AppError('VALIDATION_FAILED', 'Register with an email address, a handle, or both.');
      const displayName = normalizeDisplayName(input.initialDisplayName);
      const problem = displayNameProblem(displayName);
      if (problem) throw new AppError('VALIDATION_FAILED', problem);
      weaknessesOf(input.password, [email, handle?.handle].filter((name): name is string => name != null));
      // After the cheap checks, before the expensive hash and before the answer that reveals
      // whether the address is taken.
      refuseIfThrottled(await throttle.reserveRegistration(browser.client));
      const residence = await deps.residence.choose(input);

      const accountId = randomUUID();
      const personaId = randomUUID();
      const [sessionToken, anonToken] = [newToken(), newToken()];
      // Without an email there is no mailbox to recover through: the person gets one-time codes.
      const recoveryCodes = email === null ? newRecoveryCodes() : [];
      const method: NewPasswordMethod =
        email !== null
          ? { type: 'email', lookupKey: emails.lookupKey(email), email: emails.seal(accountId, email) }
          : {
              type: 'handle',
              lookupKey: handleLookupKey(hasher, handle!.handle),
              identifier: handles.identifiers.seal(identifierBinding(accountId), Buffer.from(handle!.handle, 'utf8')),
            };
      const result = await accounts.register(
        {
          accountId,
          method,
          passwordHash: await passwords.hash(input.password),
          persona: { id: personaId, displayName, displayNameKey: displayNameKey(displayName), authorId: pseudonyms.authorId(personaId) },
          handle,
          recoveryCodeHashes: recoveryCodes.map((code) => recoveryCodeHash(hasher, accountId, code)),
          settle: residence && ((trx, profileId) => deps.residence.settle(trx, profileId, residence, { email, handle: handle?.handle ?? null })),
          correlationId,
        },
        signInPlan(browser, sessionToken, anonToken),
      );
      if (!result.registered && result.reason === 'email-taken') {
        // Registration cannot help revealing that an address has an account; it is limited per
        // client, and says no more than that (login never does).
        throw new AppError('EMAIL_UNAVAILABLE', 'This email address cannot be used to register. Sign in instead.');
      }
      // A handle is public anyway (GET /handles/{handle} answers it): saying it is taken reveals nothing.
      if (!result.registered && result.reason === 'handle-taken') {
        throw new AppError('HANDLE_TAKEN', 'This handle (or one that looks like it) is taken; see GET /handles/{handle} for suggestions.');
      }
      if (!result.registered) throw new AppError('DISPLAY_NAME_TAKEN', 'This display name is taken; choose another.');
      const authenticated = await finish(result, { id: personaId, displayName }, sessionToken, anonToken);
      return { ...authenticated, handle: result.handle?.handle ?? null, recoveryCodes: recoveryCodes.length > 0 ? recoveryCodes : null };
    },

    async login(input, browser) {
      const account = await checkPassword(input, browser.client, null);
      const [sessionToken, anonToken] = [newToken(), newToken()];
      const result = await accounts.signIn(account, signInPlan(browser, sessionToken, anonToken));
      return finish(result, result.persona, sessionToken, anonToken);
    },

    async verifyOwnPassword(profileId, input, client) {
      await checkPassword(input, client, profileId);
    },

    async setPassword(caller, password) {
      const account = caller.accountType === 'guest' ? null : await accounts.passwordAccountFor({ accountId: caller.accountId, profileId: caller.accountabilityProfileId });
      const name = account && nameOf(account);
      if (!account || !name) {
        throw new AppError('VALIDATION_FAILED', 'A password belongs to an email address or a handle: sign in with yours (or with a method linked to your handle) to set it.');
      }
      weaknessesOf(password, [name]);
      const ended = await accounts.setPassword({ accountId: account.accountId, profileId: caller.accountabilityProfileId }, await passwords.hash(password), caller.sessionId);
      if (ended > 0) await evictProfile(caller.accountabilityProfileId);
      return ended;
    },
  };
}

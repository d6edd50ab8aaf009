import { randomUUID } from 'node:crypto';
import { normalizeEmail, type EmailBox } from '../../crypto/email-box.js';
import type { PasswordHasher } from '../../crypto/passwords.js';
import type { Pseudonyms } from '../../crypto/pseudonyms.js';
import { newToken, type TokenHasher } from '../../crypto/tokens.js';
import { AppError } from '../../errors.js';
import { refuseIfThrottled } from '../../rate-limit/attempt-limiter.js';
import type { SessionContext } from '../sessions/session.js';
import { displayNameKey, displayNameProblem, normalizeDisplayName } from '../personas/display-name.js';
import type { AccountRepository, PersonaRef } from './account-repository.js';
import type { LoginThrottle } from './login-throttle.js';
import { passwordWeaknesses } from './password-policy.js';
import { planSignIn, type Browser } from './sign-in-plan.js';
import type { SignInOutcome, SignInPlan } from './sign-in-repository.js';

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

export interface RegisterInput {
  readonly email: string;
  readonly password: string;
  readonly initialDisplayName: string;
}

export interface LoginInput {
  readonly email: string;
  readonly password: string;
}

export interface AccountService {
  register(input: RegisterInput, browser: Browser): Promise<Authenticated>;
  login(input: LoginInput, browser: Browser): Promise<Authenticated>;
  /**
   * Sets or changes the password of the email account the caller signed in with (the caller has
   * stepped up); every other signed-in session of the account ends. Answers how many did.
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
}

const INVALID_CREDENTIALS = 'The email address or the password is wrong.';

export function createAccountService(deps: AccountServiceDeps): AccountService {
  const { accounts, passwords, emails, throttle, hasher, pseudonyms, evictProfile } = deps;

  function signInPlan(browser: Browser, sessionToken: string, anonToken: string): SignInPlan {
    // A password is an authenticator (NIST SP 800-63B-4): it can satisfy step-up.
    return planSignIn(deps, browser, { sessionToken, anonToken, refreshToken: null }, true);
  }

  async function finish(outcome: SignInOutcome, persona: PersonaRef | null, sessionToken: string, anonToken: string) {
    // After commit: no node may keep serving a session this authentication ended or changed.
    await Promise.all([...new Set(outcome.evict)].map(evictProfile));
    return {
      signedIn: outcome.sessionCreated,
      persona,
      sessionToken: outcome.sessionCreated ? sessionToken : null,
      anonToken: outcome.anonymousRotated ? anonToken : null,
    };
  }

  return {
    async register(input, browser) {
      const email = normalizeEmail(input.email);
      const displayName = normalizeDisplayName(input.initialDisplayName);
      const problem = displayNameProblem(displayName);
      if (problem) throw new AppError('VALIDATION_FAILED', problem);
      const weaknesses = passwordWeaknesses(input.password, email);
      if (weaknesses.length > 0) throw new AppError('WEAK_PASSWORD', `Choose another password: ${weaknesses.join('; ')}.`);
      // After the cheap checks, before the expensive hash and before the answer that reveals
      // whether the address is taken.
      refuseIfThrottled(await throttle.reserveRegistration(browser.client));

      const accountId = randomUUID();
      const personaId = randomUUID();
      const [sessionToken, anonToken] = [newToken(), newToken()];
      const result = await accounts.register(
        {
          accountId,
          lookupKey: emails.lookupKey(email),
          email: emails.seal(accountId, email),
          passwordHash: await passwords.hash(input.password),
          persona: { id: personaId, displayName, displayNameKey: displayNameKey(displayName), authorId: pseudonyms.authorId(personaId) },
        },
        signInPlan(browser, sessionToken, anonToken),
      );
      if (!result.registered && result.reason === 'email-taken') {
        // Registration cannot help revealing that an address has an account; it is limited per
        // client, and says no more than that (login never does).
        throw new AppError('EMAIL_UNAVAILABLE', 'This email address cannot be used to register. Sign in instead.');
      }
      if (!result.registered) throw new AppError('DISPLAY_NAME_TAKEN', 'This display name is taken; choose another.');
      return finish(result, { id: personaId, displayName }, sessionToken, anonToken);
    },

    async login(input, browser) {
      const lookupKey = emails.lookupKey(normalizeEmail(input.email));
      // Reserved before the password is checked: of N concurrent guesses against a limit of L,
      // at most L ever reach argon2 (see rate-limit/attempt-limiter.ts).
      refuseIfThrottled(await throttle.reserveLogin(lookupKey, browser.client));
      const account = await accounts.findEmailAccount(lookupKey);
      // No account, or no password on it: the same work (one argon2id verification) and the same
      // answer as a wrong password, so neither the response nor its timing tells them apart.
      const valid = account?.passwordHash
        ? await passwords.verify(account.passwordHash, input.password)
        : await passwords.verifyNothing(input.password);
      if (!account?.passwordHash || !valid) throw new AppError('INVALID_CREDENTIALS', INVALID_CREDENTIALS);

      await throttle.loginSucceeded(lookupKey, browser.client);
      if (passwords.needsRehash(account.passwordHash)) {
        // The policy was raised since this hash was made; the password is at hand only now.
        await accounts.replacePasswordHash(account.accountId, account.passwordHash, await passwords.hash(input.password));
      }
      const [sessionToken, anonToken] = [newToken(), newToken()];
      const result = await accounts.signIn(account, signInPlan(browser, sessionToken, anonToken));
      return finish(result, result.persona, sessionToken, anonToken);
    },

    async setPassword(caller, password) {
      const sealed = caller.accountType === 'email' ? await accounts.sealedEmailOf(caller.accountId) : null;
      const email = sealed && emails.open(caller.accountId, sealed);
      if (!email) throw new AppError('VALIDATION_FAILED', 'A password belongs to an email address: sign in with yours to set it.');
      const weaknesses = passwordWeaknesses(password, email);
      if (weaknesses.length > 0) throw new AppError('WEAK_PASSWORD', `Choose another password: ${weaknesses.join('; ')}.`);
      const ended = await accounts.setPassword({ accountId: caller.accountId, profileId: caller.accountabilityProfileId }, await passwords.hash(password), caller.sessionId);
      if (ended > 0) await evictProfile(caller.accountabilityProfileId);
      return ended;
    },
  };
}

import type { TokenHasher } from '../../crypto/tokens.js';
import { limiterKey, type AttemptLimiter, type Reservation } from '../../rate-limit/attempt-limiter.js';

export interface LoginLimits {
  readonly perAccount: number;
  readonly perClient: number;
  readonly windowSeconds: number;
}

/** The attempt limits of sign-in, over any attempt store. */
export interface LoginThrottle {
  /**
   * Reserves one login attempt for the client and for the email (whether or not an account has it:
   * a limit that applied only to real accounts would tell which addresses have one).
   */
  reserveLogin(emailLookupKey: Buffer, client: string): Promise<Reservation>;
  /** After a correct password: the account's failures are forgotten and the client's attempt given back. */
  loginSucceeded(emailLookupKey: Buffer, client: string): Promise<void>;
  /** Registrations per client: each one answers whether an address is taken, so they are counted too. */
  reserveRegistration(client: string): Promise<Reservation>;
}

/**
 * Counter keys are keyed hashes (purpose `rate-limit`) of what they count. The email's own lookup
 * key is hashed again, so the store's keys cannot even be matched against `accounts.lookup_key`.
 */
export function createLoginThrottle(limiter: AttemptLimiter, hasher: TokenHasher, limits: LoginLimits): LoginThrottle {
  const key = (scope: string, subject: string) => limiterKey(hasher, scope, subject);
  const accountKey = (emailLookupKey: Buffer) => key('login-account', emailLookupKey.toString('base64'));
  const clientKey = (scope: string, client: string) => key(scope, client);

  return {
    async reserveLogin(emailLookupKey, client) {
      // The client first: a client over its limit does not get to spend the account's attempts.
      const byClient = await limiter.reserve(clientKey('login-client', client), limits.perClient, limits.windowSeconds);
      if (!byClient.allowed) return byClient;
      return limiter.reserve(accountKey(emailLookupKey), limits.perAccount, limits.windowSeconds);
    },

    async loginSucceeded(emailLookupKey, client) {
      await Promise.all([limiter.clear(accountKey(emailLookupKey)), limiter.release(clientKey('login-client', client))]);
    },

    reserveRegistration: (client) => limiter.reserve(clientKey('register-client', client), limits.perClient, limits.windowSeconds),
  };
}

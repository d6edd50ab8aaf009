import { describe, expect, it } from 'vitest';
import { TokenHasher } from '../../crypto/tokens.js';
import { MemoryAttemptLimiter, type AttemptLimiter } from '../../rate-limit/attempt-limiter.js';
import { createLoginThrottle } from './login-throttle.js';

const hasher = new TokenHasher('a-token-hash-key-of-at-least-32-characters');
const emailKey = hasher.hash('email', 'alice@example.org');
const LIMITS = { perAccount: 2, perClient: 3, windowSeconds: 60 };

/** A real in-memory limiter that also records every key it is handed. */
function recordingLimiter(): { limiter: AttemptLimiter; keys: string[] } {
  const inner = new MemoryAttemptLimiter({ now: () => new Date() });
  const keys: string[] = [];
  const record = <A extends unknown[], R>(fn: (key: string, ...rest: A) => R) => (key: string, ...rest: A) => {
    keys.push(key);
    return fn(key, ...rest);
  };
  return {
    keys,
    limiter: {
      reserve: record((key, limit: number, window: number) => inner.reserve(key, limit, window)),
      release: record((key) => inner.release(key)),
      clear: record((key) => inner.clear(key)),
      close: () => inner.close(),
    },
  };
}

describe('LoginThrottle', () => {
  it('hands the store only keyed hashes: no address, no email, not even the email\'s lookup key', async () => {
    const { limiter, keys } = recordingLimiter();
    const throttle = createLoginThrottle(limiter, hasher, LIMITS);
    await throttle.reserveLogin(emailKey, '203.0.113.9');
    await throttle.loginSucceeded(emailKey, '203.0.113.9');
    await throttle.reserveRegistration('203.0.113.9');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatch(/^[a-z-]+:[A-Za-z0-9_-]{43}$/);
      for (const clear of ['203.0.113.9', 'alice', emailKey.toString('base64url'), emailKey.toString('base64')]) expect(key).not.toContain(clear);
    }
  });

  it('limits per account and per client, and a success clears the account and refunds the client', async () => {
    const throttle = createLoginThrottle(new MemoryAttemptLimiter({ now: () => new Date() }), hasher, LIMITS);
    expect((await throttle.reserveLogin(emailKey, 'a')).allowed).toBe(true);
    expect((await throttle.reserveLogin(emailKey, 'b')).allowed).toBe(true);
    expect((await throttle.reserveLogin(emailKey, 'c')).allowed).toBe(false); // the account's third
    await throttle.loginSucceeded(emailKey, 'c');
    expect((await throttle.reserveLogin(emailKey, 'c')).allowed).toBe(true);

    const other = hasher.hash('email', 'bob@example.org');
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await throttle.reserveLogin(hasher.hash('email', `x${i}@example.org`), 'd')).allowed);
    expect(results).toEqual([true, true, true, false]); // the client's fourth
    expect((await throttle.reserveLogin(other, 'e')).allowed).toBe(true);
  });

  it('does not spend an account\'s attempts for a client already over its limit', async () => {
    const throttle = createLoginThrottle(new MemoryAttemptLimiter({ now: () => new Date() }), hasher, { ...LIMITS, perClient: 1 });
    await throttle.reserveLogin(hasher.hash('email', 'first@example.org'), 'attacker');
    for (let i = 0; i < 5; i++) expect((await throttle.reserveLogin(emailKey, 'attacker')).allowed).toBe(false);
    expect((await throttle.reserveLogin(emailKey, 'owner')).allowed).toBe(true);
    expect((await throttle.reserveLogin(emailKey, 'owner2')).allowed).toBe(true);
  });
});

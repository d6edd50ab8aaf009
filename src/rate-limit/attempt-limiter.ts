import type { Clock } from '../clock.js';
import type { TokenHasher } from '../crypto/tokens.js';
import { AppError } from '../errors.js';

/** The outcome of counting one attempt. */
export interface Reservation {
  readonly allowed: boolean;
  /** Seconds until the window ends and attempts are allowed again (whole, at least 1). */
  readonly retryAfterSeconds: number;
}

/** Refuses an attempt beyond its limit: 429 TOO_MANY_ATTEMPTS with Retry-After. */
export function refuseIfThrottled(reservation: Reservation): void {
  if (reservation.allowed) return;
  throw new AppError('TOO_MANY_ATTEMPTS', `Too many attempts; try again in ${reservation.retryAfterSeconds} seconds.`, {
    retryAfterSeconds: reservation.retryAfterSeconds,
  });
}

/**
 * Fixed-window attempt counters. Keys are opaque: callers pass keyed hashes, never an address or an
 * email, so the store (memory or Redis) holds nothing personal in the clear.
 */
/**
 * A counter's key: `<scope>:<keyed hash of scope and subject>`. The scope names what is counted (an
 * operator reading the store sees which limit a key is), and the hash (purpose `rate-limit`) keeps
 * the subject (a client address, an email's lookup key) out of the store.
 */
export function limiterKey(hasher: TokenHasher, scope: string, subject: string): string {
  return `${scope}:${hasher.hash('rate-limit', `${scope}\u0000${subject}`).toString('base64url')}`;
}

export interface AttemptLimiter {
  /**
   * Counts one attempt against `key` and answers whether it is within `limit` in the window, in one
   * atomic step: N concurrent callers against a limit of L are allowed L times, never more. Callers
   * reserve *before* doing the work the limit protects (checking a password).
   */
  reserve(key: string, limit: number, windowSeconds: number): Promise<Reservation>;
  /** Gives one attempt back (a success that should not count against a shared address). */
  release(key: string): Promise<void>;
  /** Forgets the key's count (a successful login clears its account's failures). */
  clear(key: string): Promise<void>;
  close(): Promise<void>;
}

interface Window {
  count: number;
  resetsAt: number;
}

/** Above this many keys, expired windows are swept on the next insert. */
const SWEEP_THRESHOLD = 10_000;

/**
 * The embedded default: one process, one map. JavaScript runs each call to completion, so the
 * read-increment-write below cannot interleave with another caller's.
 */
export class MemoryAttemptLimiter implements AttemptLimiter {
  readonly #windows = new Map<string, Window>();
  readonly #clock: Clock;
  #sweepAt = SWEEP_THRESHOLD;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async reserve(key: string, limit: number, windowSeconds: number): Promise<Reservation> {
    const now = this.#clock.now().getTime();
    let window = this.#windows.get(key);
    if (!window || window.resetsAt <= now) {
      window = { count: 0, resetsAt: now + windowSeconds * 1000 };
      this.#windows.set(key, window);
      this.#sweep(now);
    }
    window.count++;
    return { allowed: window.count <= limit, retryAfterSeconds: Math.max(1, Math.ceil((window.resetsAt - now) / 1000)) };
  }

  async release(key: string): Promise<void> {
    const window = this.#windows.get(key);
    if (window && window.count > 0) window.count--;
  }

  async clear(key: string): Promise<void> {
    this.#windows.delete(key);
  }

  async close(): Promise<void> {
    this.#windows.clear();
  }

  /** Memory stays proportional to the keys seen within one window, however long the process runs. */
  #sweep(now: number): void {
    if (this.#windows.size < this.#sweepAt) return;
    for (const [key, window] of this.#windows) if (window.resetsAt <= now) this.#windows.delete(key);
    this.#sweepAt = Math.max(SWEEP_THRESHOLD, this.#windows.size * 2);
  }
}

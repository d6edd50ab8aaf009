import { Redis } from 'ioredis';
import type { AttemptLimiter, Reservation } from './attempt-limiter.js';

const PREFIX = 'personae:attempts:';

/**
 * Increment and expiry in one script: Redis runs a script atomically, so concurrent attempts from
 * every node are counted exactly, and a key can never be left without an expiry (a crash between
 * INCR and PEXPIRE would otherwise lock its subject out for good).
 */
const RESERVE = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

/** Decrements, never below zero and never creating a key. */
const RELEASE = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return count
`;

/** Counters shared by every node of the service, in Redis. */
export class RedisAttemptLimiter implements AttemptLimiter {
  readonly #redis: Redis;

  private constructor(redis: Redis) {
    this.#redis = redis;
  }

  static async connect(url: string): Promise<RedisAttemptLimiter> {
    // A few retries, then an error: a login must not hang while Redis is away.
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    redis.on('error', () => undefined); // surfaced by the failing command; ioredis reconnects
    await redis.connect();
    return new RedisAttemptLimiter(redis);
  }

  async reserve(key: string, limit: number, windowSeconds: number): Promise<Reservation> {
    const [count, ttl] = (await this.#redis.eval(RESERVE, 1, PREFIX + key, String(windowSeconds * 1000))) as [number, number];
    return { allowed: count <= limit, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) };
  }

  async release(key: string): Promise<void> {
    await this.#redis.eval(RELEASE, 1, PREFIX + key);
  }

  async clear(key: string): Promise<void> {
    await this.#redis.del(PREFIX + key);
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => undefined);
  }
}

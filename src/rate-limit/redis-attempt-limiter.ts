import { Redis } from 'ioredis';
import type { AttemptLimiter, Reservation } from './attempt-limiter.js';
import { RedisLookupGate } from './redis-lookup-gate.js';
import { COUNT_ATTEMPT_LUA } from './redis-count-script.js';

const PREFIX = 'personae:attempts:';

const RESERVE = `${COUNT_ATTEMPT_LUA}return {count, ttl}`;

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
    // A few retries, then an error: a login must not hang while Redis is away. Auto-pipelining sends
    // the commands of one event-loop turn in one write: under load, many lookups' counts share a
    // system call instead of paying one each. Each command is still its own atomic script, in order.
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableAutoPipelining: true });
    redis.on('error', () => undefined); // surfaced by the failing command; ioredis reconnects
    await redis.connect();
    return new RedisAttemptLimiter(redis);
  }

  async reserve(key: string, limit: number, windowSeconds: number): Promise<Reservation> {
    const [count, ttl] = (await this.#redis.eval(RESERVE, 1, PREFIX + key, String(windowSeconds * 1000))) as [number, number];
    return { allowed: count <= limit, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) };
  }

  /** The public lookups' gate on this connection: their counts are this limiter's keys. */
  lookupGate(): RedisLookupGate {
    return new RedisLookupGate(this.#redis, PREFIX);
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

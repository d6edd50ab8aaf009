import { randomInt } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { IdentityGeneration } from '../cache/identity-generation.js';
import type { LookupAdmission, LookupGate } from './lookup-gate.js';
import { COUNT_ATTEMPT_LUA } from './redis-count-script.js';

/** Shared by every node of the service; never expires. */
export const IDENTITY_GENERATION_KEY = 'personae:identity-generation';

/**
 * If the key is missing (a fresh or restarted Redis, an eviction), it starts from a seed taken from
 * the clock, not from 0: a restarted Redis counting 1, 2, 3 again would hand out a value a node's
 * cache stored before the restart, and serve an entry older than the bumps since.
 */
const seedOf = (key: string, value: string) => `redis.call('SET', ${key}, ${value}, 'NX')`;

/** Count the attempt as RedisAttemptLimiter does (one key, its expiry set with the first count), then read the generation. */
const ADMIT = `${COUNT_ATTEMPT_LUA}
${seedOf('KEYS[2]', 'ARGV[2]')}
return {count, ttl, redis.call('GET', KEYS[2])}
`;

const BUMP = `
${seedOf('KEYS[1]', 'ARGV[1]')}
return redis.call('INCR', KEYS[1])
`;

interface GateCommands {
  personaeLookupAdmit(attemptsKey: string, generationKey: string, windowMs: string, seed: string): Promise<[number, number, string]>;
  personaeIdentityBump(generationKey: string, seed: string): Promise<number>;
}

/** Microseconds since the epoch with a random tail: far above any count a Redis lifetime reaches. */
const seed = () => String(Date.now() * 1000 + randomInt(1000));

/**
 * The multi-node gate: one script per lookup counts the attempt and reads the generation in the
 * same round trip; a bump is one INCR, acknowledged by Redis before the changing request answers.
 * Redis runs each script alone, so a lookup's read is ordered before or after a bump, never across.
 */
export class RedisLookupGate implements LookupGate, IdentityGeneration {
  readonly #redis: GateCommands;
  readonly #attemptsPrefix: string;
  /**
   * How often this connection came back after losing Redis: part of every generation handed out.
   * While Redis is away a change cannot bump, and Redis may come back with the very value it had
   * (it kept its data): the entries this node cached before are then never served again.
   */
  #reconnections = 0;

  /** `attemptsPrefix`: RedisAttemptLimiter's, so a lookup's count is the same key as its `reserve` would use. */
  constructor(redis: Redis, attemptsPrefix: string) {
    // Scripts sent once and then called by their SHA (EVALSHA): the hot path sends no Lua.
    redis.defineCommand('personaeLookupAdmit', { numberOfKeys: 2, lua: ADMIT });
    redis.defineCommand('personaeIdentityBump', { numberOfKeys: 1, lua: BUMP });
    this.#redis = redis as unknown as GateCommands;
    this.#attemptsPrefix = attemptsPrefix;
    // Connected already (the limiter's connect()): every later 'ready' is a reconnection.
    redis.on('ready', () => {
      this.#reconnections++;
    });
  }

  async admit(key: string, limit: number, windowSeconds: number): Promise<LookupAdmission> {
    const [count, ttl, generation] = await this.#redis.personaeLookupAdmit(this.#attemptsPrefix + key, IDENTITY_GENERATION_KEY, String(windowSeconds * 1000), seed());
    // The count as it is once the answer came, not as it was when the lookup was sent: a lookup
    // queued while Redis was away runs after the reconnection, and must not find entries from before.
    return { allowed: count <= limit, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)), generation: `${generation}/${this.#reconnections}` };
  }

  async bump(): Promise<void> {
    await this.#redis.personaeIdentityBump(IDENTITY_GENERATION_KEY, seed());
  }
}

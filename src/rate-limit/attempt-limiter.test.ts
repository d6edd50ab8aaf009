import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryAttemptLimiter, type AttemptLimiter } from './attempt-limiter.js';
import { RedisAttemptLimiter } from './redis-attempt-limiter.js';
import { redisUrl } from '../../test/support/app.js';


let now = Date.parse('2026-01-01T00:00:00Z');
const clock = { now: () => new Date(now) };
/** Moves the window forward: the memory store by its clock, Redis by real time. */
type Advance = (seconds: number) => Promise<void>;

const stores: Array<[string, () => Promise<{ limiter: AttemptLimiter; advance: Advance }>]> = [
  ['memory', async () => ({ limiter: new MemoryAttemptLimiter(clock), advance: async (seconds) => void (now += seconds * 1000) })],
];
const redis = redisUrl;
if (redis) {
  stores.push([
    'redis',
    async () => ({
      limiter: await RedisAttemptLimiter.connect(redis),
      advance: (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000)),
    }),
  ]);
}

describe.each(stores)('AttemptLimiter (%s)', (_name, open) => {
  const opened: AttemptLimiter[] = [];
  const store = async () => {
    const made = await open();
    opened.push(made.limiter);
    return made;
  };
  afterAll(() => Promise.all(opened.map((limiter) => limiter.close())));
  const key = () => `test:${randomUUID()}`;

  it('allows up to the limit, then refuses with the time left in the window', async () => {
    const { limiter } = await store();
    const k = key();
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.reserve(k, 3, 60));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[3]?.retryAfterSeconds).toBeGreaterThan(55);
    expect(results[3]?.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('is atomic: 50 concurrent reservations against a limit of 5 allow exactly 5', async () => {
    const { limiter } = await store();
    const k = key();
    const results = await Promise.all(Array.from({ length: 50 }, () => limiter.reserve(k, 5, 60)));
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
  });

  it('keeps keys apart', async () => {
    const { limiter } = await store();
    const [a, b] = [key(), key()];
    await limiter.reserve(a, 1, 60);
    expect((await limiter.reserve(a, 1, 60)).allowed).toBe(false);
    expect((await limiter.reserve(b, 1, 60)).allowed).toBe(true);
  });

  it('opens again once the window has passed', async () => {
    const { limiter, advance } = await store();
    const k = key();
    await limiter.reserve(k, 1, 1);
    expect((await limiter.reserve(k, 1, 1)).allowed).toBe(false);
    await advance(1.2);
    expect((await limiter.reserve(k, 1, 1)).allowed).toBe(true);
  });

  it('release gives one attempt back (never below zero); clear forgets the key', async () => {
    const { limiter } = await store();
    const k = key();
    await limiter.release(k); // nothing to give back: no effect
    await limiter.reserve(k, 2, 60);
    await limiter.reserve(k, 2, 60);
    await limiter.release(k);
    expect((await limiter.reserve(k, 2, 60)).allowed).toBe(true);
    expect((await limiter.reserve(k, 2, 60)).allowed).toBe(false);
    await limiter.clear(k);
    expect((await limiter.reserve(k, 2, 60)).allowed).toBe(true);
  });
});

describe('MemoryAttemptLimiter', () => {
  it('sweeps expired windows, so memory follows the keys of one window only', async () => {
    const limiter = new MemoryAttemptLimiter(clock);
    for (let i = 0; i < 10_000; i++) await limiter.reserve(`old:${i}`, 5, 1);
    now += 2000;
    await limiter.reserve('fresh', 5, 60);
    // The old keys expired; a fresh reservation for one of them starts a new window.
    expect((await limiter.reserve('old:1', 1, 60)).allowed).toBe(true);
    expect((await limiter.reserve('old:1', 1, 60)).allowed).toBe(false);
  });
});

import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Invalidation, InvalidationBus } from '../../src/cache/invalidation-bus.js';
import { createRedisInvalidationBus } from '../../src/cache/redis-invalidation-bus.js';
import { within } from '../support/cluster.js';
import { killHard, startRedis } from '../support/service-process.js';

/**
 * The Redis invalidation bus against a Redis server of this file's own (it is killed here). Runs in
 * the services suite, where a Redis server is known to be installed.
 */
describe.runIf(process.env.REDIS_URL)('the Redis invalidation bus', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  const buses: InvalidationBus[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
    await killHard(redis);
  });

  async function bus(options: Parameters<typeof createRedisInvalidationBus>[1] = {}) {
    const created = await createRedisInvalidationBus(redis.url, options);
    buses.push(created);
    const heard: Invalidation[] = [];
    created.subscribe((invalidation) => heard.push(invalidation));
    return { bus: created, heard };
  }

  it('returns from a publish only once every other node has run its listeners', async () => {
    const a = await bus();
    const b = await bus();
    const c = await bus();
    for (const node of [a, b, c]) node.heard.length = 0;
    await a.bus.publish({ kind: 'profile', id: 'p1' });
    expect(b.heard).toEqual([{ kind: 'profile', id: 'p1' }]);
    expect(c.heard).toEqual([{ kind: 'profile', id: 'p1' }]);
    expect(a.heard).toEqual([{ kind: 'profile', id: 'p1' }]); // at once, and once
    await Promise.all([a.bus.close(), b.bus.close(), c.bus.close()]);
  });

  it('waits for a subscriber that never confirms only up to its timeout, and reports it', async () => {
    const errors: unknown[] = [];
    const a = await bus({ ackTimeoutMs: 300, onError: (error) => errors.push(error) });
    const silent = new Redis(redis.url); // a node that listens but does not confirm (stuck, or broken)
    try {
      await silent.subscribe('personae:invalidate:v2');
      const started = Date.now();
      await a.bus.publish({ kind: 'profile', id: 'p2' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(String(errors[0])).toMatch(/1 of 2 nodes did not confirm/);
    } finally {
      silent.disconnect();
    }
  });

  it('hears a node of an earlier version (plain messages on the old channel), and sends to it too, without waiting for it', async () => {
    const a = await bus();
    const earlier = new Redis(redis.url);
    const listener = new Redis(redis.url);
    try {
      const heardByEarlier: string[] = [];
      await listener.subscribe('personae:invalidate');
      listener.on('message', (_channel: string, message: string) => heardByEarlier.push(message));
      a.heard.length = 0;
      await earlier.publish('personae:invalidate', JSON.stringify({ kind: 'profile', id: 'old' }));
      await within(2000, 'the old message was heard', async () => a.heard.length === 1);
      expect(a.heard).toEqual([{ kind: 'profile', id: 'old' }]);
      const started = Date.now();
      await a.bus.publish({ kind: 'profile', id: 'new' });
      expect(Date.now() - started).toBeLessThan(1000); // the old channel's listener is not waited for
      // (The old channel carries both: the earlier version's own message, then this node's.)
      await within(2000, 'the earlier version heard it', async () => heardByEarlier.length === 2);
      expect(JSON.parse(heardByEarlier[1] as string)).toMatchObject({ kind: 'profile', id: 'new' });
      expect(a.heard).toEqual([{ kind: 'profile', id: 'old' }, { kind: 'profile', id: 'new' }]); // its own copy is not delivered twice
      await a.bus.close();
    } finally {
      earlier.disconnect();
      listener.disconnect();
    }
  });

  it('stops listening when Redis goes away, and resumes with everything dropped once subscribed again', async () => {
    const a = await bus();
    expect(a.bus.isListening()).toBe(true);
    await killHard(redis);
    await within(5000, 'the bus noticed', async () => !a.bus.isListening());
    a.heard.length = 0;
    await a.bus.publish({ kind: 'profile', id: 'p3' }); // reported, not thrown
    redis = await startRedis(redis.port);
    await within(10_000, 'the bus resubscribed', async () => a.bus.isListening());
    expect(a.heard).toEqual([{ kind: 'profile', id: 'p3' }, { kind: 'all' }]);
    await delay(50);
  });
});

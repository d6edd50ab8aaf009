import { Redis } from 'ioredis';
import type { Invalidation, InvalidationBus } from './invalidation-bus.js';

const CHANNEL = 'personae:invalidate';

/**
 * Invalidation across nodes over Redis pub/sub. Pub/sub does not queue for a disconnected
 * subscriber, so after every (re)connection listeners are told to drop everything.
 */
export async function createRedisInvalidationBus(
  url: string,
  onError: (error: unknown) => void = () => undefined,
): Promise<InvalidationBus> {
  const publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const subscriber = new Redis(url, { lazyConnect: true });
  const listeners: Array<(invalidation: Invalidation) => void> = [];
  const deliver = (invalidation: Invalidation) => {
    for (const listener of listeners) listener(invalidation);
  };

  subscriber.on('message', (_channel: string, message: string) => {
    const invalidation = parse(message);
    if (invalidation) deliver(invalidation);
  });
  subscriber.on('ready', () => deliver({ kind: 'all' }));
  // Errors surface as reconnects; ioredis keeps retrying, and the cache TTL bounds staleness meanwhile.
  subscriber.on('error', () => undefined);
  publisher.on('error', () => undefined);

  await Promise.all([publisher.connect(), subscriber.connect()]);
  await subscriber.subscribe(CHANNEL);

  return {
    async publish(invalidation) {
      deliver(invalidation); // this node at once, without waiting for the round trip
      // The change is already committed; if Redis is away, other nodes catch up within the cache TTL
      // (and drop their caches when they reconnect), so a failed publish is reported, not thrown.
      await publisher.publish(CHANNEL, JSON.stringify(invalidation)).catch(onError);
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    async close() {
      listeners.length = 0;
      await Promise.allSettled([publisher.quit(), subscriber.quit()]);
    },
  };
}

function parse(message: string): Invalidation | null {
  try {
    const value = JSON.parse(message) as Partial<{ kind: string; id: string }>;
    if (value.kind === 'all') return { kind: 'all' };
    if (value.kind === 'profile' && typeof value.id === 'string') return { kind: 'profile', id: value.id };
  } catch {
    // not ours: ignore
  }
  return null;
}

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ConfirmingBusOptions, Invalidation, InvalidationBus } from './invalidation-bus.js';
import { parseInvalidation } from './invalidation-message.js';

/** Invalidations that every receiver confirms. */
const CHANNEL = 'personae:invalidate:v2';
/** Each node hears the confirmations of its own invalidations on a channel of its own. */
const ACK_CHANNEL_PREFIX = 'personae:invalidate:ack:';
/**
 * The channel of versions before confirmations, kept during a rolling upgrade: invalidations are
 * sent there too (without waiting), and heard from there when an earlier version sent them. Its
 * subscribers do not confirm, so they cannot be counted among the receivers that must.
 */
const LEGACY_CHANNEL = 'personae:invalidate';
/** How long a publish waits for every node's confirmation before it reports the laggards and returns. */
const DEFAULT_ACK_TIMEOUT_MS = 2000;

export type RedisInvalidationBusOptions = ConfirmingBusOptions;

/**
 * Invalidation across nodes over Redis pub/sub.
 *
 * Next-request guarantee: PUBLISH returns once Redis has written the message to every subscriber's
 * socket, not once the subscribers have acted on it. A node busy with other work can read the
 * client's next request before the message (both are waiting on its event loop; with nodes on
 * different hosts the message may even still be on the wire), and answer from a cache that is about
 * to be dropped: 1 such stale read in 600 was seen with three loaded nodes. So every node confirms
 * each message after evicting, and `publish` returns only when as many confirmations came back as
 * PUBLISH counted receivers (or after `ackTimeoutMs`, reported through `onError`). A change is then
 * answered only once no node can serve what it replaced.
 *
 * Pub/sub does not queue for a disconnected subscriber: from the moment the subscription drops,
 * this node stops listening (caches go around themselves to the database), and only once it is
 * subscribed again (the server acknowledged SUBSCRIBE, so every later message reaches it) are
 * listeners told to drop everything and listening resumes.
 */
export async function createRedisInvalidationBus(url: string, options: RedisInvalidationBusOptions = {}): Promise<InvalidationBus> {
  const onError = options.onError ?? (() => undefined);
  const ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  const nodeId = randomUUID();
  const ackChannel = ACK_CHANNEL_PREFIX + nodeId;
  const publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  // Resubscribed by hand on each connection (below), so that listening resumes only once it holds.
  const subscriber = new Redis(url, { lazyConnect: true, autoResubscribe: false });
  const listeners: Array<(invalidation: Invalidation) => void> = [];
  const deliver = (invalidation: Invalidation) => {
    for (const listener of listeners) listener(invalidation);
  };
  const confirmations = new Confirmations();
  let listening = false;
  let sequence = 0;

  subscriber.on('message', (channel: string, message: string) => {
    if (channel === ackChannel) return confirmations.add(message);
    const envelope = parseInvalidation(message);
    if (!envelope) return;
    if (channel === LEGACY_CHANNEL) {
      // Only an earlier version's message (no sender id) is news: a current node's came on CHANNEL too.
      if (!envelope.from) deliver(envelope.invalidation);
      return;
    }
    // This node delivered its own invalidation before publishing; its subscriber's copy only confirms.
    if (envelope.from === nodeId) {
      if (envelope.seq) confirmations.add(envelope.seq);
      return;
    }
    deliver(envelope.invalidation);
    // Confirmed after the listeners ran (they evict synchronously); a lost confirmation only delays the sender.
    if (envelope.from && envelope.seq) publisher.publish(ACK_CHANNEL_PREFIX + envelope.from, envelope.seq).catch(() => undefined);
  });
  const resubscribe = async () => {
    try {
      await subscriber.subscribe(CHANNEL, ackChannel, LEGACY_CHANNEL);
    } catch {
      return; // the connection dropped again; the next 'ready' tries again
    }
    // Whatever was published while this node was away is lost: drop everything, then trust the cache.
    deliver({ kind: 'all' });
    listening = true;
  };
  subscriber.on('ready', () => void resubscribe());
  subscriber.on('close', () => {
    listening = false;
  });
  // Errors surface as reconnects; ioredis keeps retrying, and caches are bypassed meanwhile.
  subscriber.on('error', () => undefined);
  publisher.on('error', () => undefined);

  await Promise.all([publisher.connect(), subscriber.connect()]);
  await resubscribe();

  return {
    confirmsAcrossNodes: true,
    async publish(invalidation) {
      deliver(invalidation); // this node at once, without waiting for the round trip
      const seq = String(++sequence);
      const confirmed = confirmations.expect(seq);
      try {
        // The change is already committed; if Redis is away, the other nodes are not listening either
        // (their subscriptions dropped with it), so they read from the database until they resubscribe,
        // and drop their caches then: a failed publish is reported, not thrown.
        const message = JSON.stringify({ ...invalidation, from: nodeId, seq });
        const [receivers] = await Promise.all([publisher.publish(CHANNEL, message), publisher.publish(LEGACY_CHANNEL, message)]);
        const missing = await confirmed.wait(receivers, ackTimeoutMs);
        if (missing === 0) return true;
        onError(new Error(`${missing} of ${receivers} nodes did not confirm an invalidation within ${ackTimeoutMs} ms`));
      } catch (error) {
        onError(error);
      } finally {
        confirmations.forget(seq);
      }
      return false;
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    isListening: () => listening,
    async close() {
      listening = false;
      listeners.length = 0;
      await Promise.allSettled([publisher.quit(), subscriber.quit()]);
    },
  };
}

/** Counts the confirmations of this node's invalidations, by sequence number. */
class Confirmations {
  readonly #pending = new Map<string, { count: number; wake?: () => void }>();

  expect(seq: string): { wait(receivers: number, timeoutMs: number): Promise<number> } {
    const entry: { count: number; wake?: () => void } = { count: 0 };
    this.#pending.set(seq, entry);
    return {
      // Answers how many receivers did not confirm in time (0: all did).
      wait: async (receivers, timeoutMs) => {
        if (entry.count < receivers) {
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            entry.wake = () => entry.count >= receivers && resolve();
            timer = setTimeout(resolve, timeoutMs);
          });
          clearTimeout(timer);
        }
        return Math.max(0, receivers - entry.count);
      },
    };
  }

  add(seq: string): void {
    const entry = this.#pending.get(seq);
    if (!entry) return; // late, after the sender gave up waiting
    entry.count++;
    entry.wake?.();
  }

  forget(seq: string): void {
    this.#pending.delete(seq);
  }
}

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ConfirmingBusOptions, Invalidation, InvalidationBus } from './invalidation-bus.js';
import { parseInvalidation } from './invalidation-message.js';

/** Invalidations that every listening node confirms. */
const CHANNEL = 'personae_invalidate';
/** Each node hears the confirmations of its own invalidations on a channel of its own. */
const ACK_CHANNEL_PREFIX = 'personae_invalidate_ack_';
/**
 * The `application_name` a node's listening connection takes once its LISTEN holds: how a publisher
 * learns (from pg_stat_activity) which nodes must confirm, since NOTIFY counts no receivers.
 */
const LISTENER_NAME_PREFIX = 'personae-bus:';
/** How long a publish waits for every node's confirmation before it reports the laggards and returns. */
const DEFAULT_ACK_TIMEOUT_MS = 2000;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

/**
 * One round trip: the nodes that must confirm, then the message. Both in one statement, so in one
 * transaction, whose NOTIFY is sent at its commit, after the read. That order is what keeps the wait
 * exact: a node takes its name only after its LISTEN committed, so a node named at the read hears the
 * message; a node that starts listening after the read is not waited for (it may or may not hear the
 * message, and needs neither: it names itself after the read, which follows the change's commit, and
 * only then drops everything and starts listening). Read after the NOTIFY instead, and a node whose
 * LISTEN committed in between would be waited for, for a message it never gets: a 2 s stall.
 */
const PUBLISH = `
select array(
  select distinct substr(application_name, ${LISTENER_NAME_PREFIX.length + 1}) from pg_stat_activity
  where datname = current_database() and application_name like '${LISTENER_NAME_PREFIX}%' and application_name <> $3
) as peers, pg_notify($1, $2)`;

export type PostgresInvalidationBusOptions = ConfirmingBusOptions;

/**
 * Invalidation across nodes over PostgreSQL LISTEN/NOTIFY, for nodes that share a PostgreSQL
 * database and no Redis: the same guarantees as the Redis bus (see createRedisInvalidationBus).
 *
 * Next-request guarantee: NOTIFY returns before any listener has acted on the message, so every node
 * confirms each message (on the sender's own channel) after evicting, and `publish` returns only once
 * every other listening node confirmed (or after `ackTimeoutMs`, reported through `onError`). Which
 * nodes listen: those whose listening connection carries the name `personae-bus:<node id>` in
 * pg_stat_activity of the same database (see PUBLISH for why that set is exact).
 *
 * NOTIFY does not queue for a connection that is gone: from the moment the listening connection drops,
 * this node stops listening (caches go around themselves to the database), reconnects with backoff,
 * and only once LISTEN holds again are listeners told to drop everything and listening resumes. A
 * connection that dies silently (a network partition) is found by TCP keepalive; until then its
 * backend, if the server still holds it, is waited for and reported like any node that does not confirm.
 *
 * Needs a session connection: behind a pooler in transaction mode (PgBouncer's default), LISTEN
 * does not hold. Publish is called after the change's commit, on a pool of the bus's own.
 */
export async function createPostgresInvalidationBus(url: string, options: PostgresInvalidationBusOptions = {}): Promise<InvalidationBus> {
  const onError = options.onError ?? (() => undefined);
  const ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  const nodeId = randomUUID().replaceAll('-', '');
  const listenerName = LISTENER_NAME_PREFIX + nodeId;
  // Publishes and confirmations; the listening connection only listens.
  const publisher = new pg.Pool({ connectionString: url, max: 2, idleTimeoutMillis: 60_000 });
  publisher.on('error', () => undefined); // an idle client lost: the next query opens another
  const listeners: Array<(invalidation: Invalidation) => void> = [];
  const deliver = (invalidation: Invalidation) => {
    for (const listener of listeners) listener(invalidation);
  };
  const confirmations = new Confirmations();
  let listening = false;
  let closed = false;
  let sequence = 0;
  let connection: pg.Client | null = null;
  let retryMs = RECONNECT_MIN_MS;
  let retryTimer: NodeJS.Timeout | undefined;

  const hear = ({ channel, payload }: pg.Notification) => {
    if (payload === undefined) return;
    if (channel !== CHANNEL) return confirmations.add(payload);
    const message = parseInvalidation(payload);
    if (!message || message.from === nodeId) return; // this node delivered its own before publishing
    deliver(message.invalidation);
    // Confirmed after the listeners ran (they evict synchronously); a lost confirmation only delays the sender.
    if (message.from && message.seq) {
      publisher.query('select pg_notify($1, $2)', [ACK_CHANNEL_PREFIX + message.from, `${message.seq}:${nodeId}`]).catch(() => undefined);
    }
  };

  const lose = (client: pg.Client) => {
    if (connection !== client) return; // already lost (both 'error' and 'end' come)
    connection = null;
    listening = false;
    client.end().catch(() => undefined);
    if (closed) return;
    retryTimer = setTimeout(() => void listen().catch(() => undefined), retryMs);
    retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS);
  };

  const listen = async () => {
    const client = new pg.Client({ connectionString: url, keepAlive: true });
    connection = client;
    client.on('notification', hear);
    client.on('error', () => lose(client));
    client.on('end', () => lose(client));
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}; listen ${ACK_CHANNEL_PREFIX}${nodeId}`);
      // Named only now, when LISTEN has committed: from here on, publishers wait for this node.
      await client.query(`select set_config('application_name', $1, false)`, [listenerName]);
    } catch (error) {
      lose(client);
      throw error;
    }
    if (connection !== client) return;
    // Whatever was published while this node was away is lost: drop everything, then trust the cache.
    deliver({ kind: 'all' });
    listening = true;
    retryMs = RECONNECT_MIN_MS;
  };

  try {
    await listen();
  } catch (error) {
    closed = true;
    clearTimeout(retryTimer);
    await publisher.end().catch(() => undefined);
    throw error;
  }

  return {
    confirmsAcrossNodes: true,
    async publish(invalidation) {
      deliver(invalidation); // this node at once, without waiting for the round trip
      const seq = String(++sequence);
      const confirmed = confirmations.expect(seq);
      try {
        // The change is already committed; a failed publish is reported, not thrown (as with Redis).
        const message = JSON.stringify({ ...invalidation, from: nodeId, seq });
        const { rows } = await publisher.query<{ peers: string[] }>(PUBLISH, [CHANNEL, message, listenerName]);
        const peers = rows[0]?.peers ?? [];
        const missing = await confirmed.wait(peers, ackTimeoutMs);
        if (missing === 0) return true;
        onError(new Error(`${missing} of ${peers.length} other nodes did not confirm an invalidation within ${ackTimeoutMs} ms`));
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
      closed = true;
      listening = false;
      listeners.length = 0;
      clearTimeout(retryTimer);
      const client = connection;
      connection = null;
      await Promise.allSettled([client?.end(), publisher.end()]);
    },
  };
}

/** The confirmations of this node's invalidations: which nodes confirmed each sequence number. */
class Confirmations {
  readonly #pending = new Map<string, { confirmed: Set<string>; wake?: () => void }>();

  expect(seq: string): { wait(peers: readonly string[], timeoutMs: number): Promise<number> } {
    const entry: { confirmed: Set<string>; wake?: () => void } = { confirmed: new Set() };
    this.#pending.set(seq, entry);
    const missing = (peers: readonly string[]) => peers.filter((peer) => !entry.confirmed.has(peer)).length;
    return {
      // Answers how many of `peers` did not confirm in time (0: all did). Others' confirmations
      // (nodes that started listening after the read) are counted nowhere.
      wait: async (peers, timeoutMs) => {
        if (missing(peers) > 0) {
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            entry.wake = () => missing(peers) === 0 && resolve();
            timer = setTimeout(resolve, timeoutMs);
          });
          clearTimeout(timer);
        }
        return missing(peers);
      },
    };
  }

  /** `payload`: `<seq>:<node id>`, as a receiver sends it. */
  add(payload: string): void {
    const colon = payload.indexOf(':');
    const entry = this.#pending.get(payload.slice(0, colon));
    if (colon < 0 || !entry) return; // late, after the sender gave up waiting
    entry.confirmed.add(payload.slice(colon + 1));
    entry.wake?.();
  }

  forget(seq: string): void {
    this.#pending.delete(seq);
  }
}

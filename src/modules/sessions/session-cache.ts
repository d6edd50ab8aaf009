import { LRUCache } from 'lru-cache';
import type { SessionContext } from './session.js';

/**
 * A node-local cache of resolved sessions for the read-only hot path (`GET /session`). Entries are
 * dropped when the person they belong to changes (ban, unban), here and, through the invalidation
 * bus, on every other node; the TTL bounds staleness should a message be lost. State-changing
 * requests never read from it: they see bans at once on every node.
 */
export class SessionCache {
  readonly #entries: LRUCache<string, SessionContext> | null;
  readonly #listening: () => boolean;
  #generation = 0;

  /**
   * `listening` says whether evictions from other nodes can reach this cache right now (see
   * InvalidationBus.isListening); while it is false the cache is neither read nor filled, so a ban
   * placed elsewhere is seen on the next request, from the database, instead of within the TTL.
   */
  constructor(options: { readonly ttlSeconds: number; readonly maxEntries: number; readonly listening?: () => boolean }) {
    this.#entries =
      options.ttlSeconds > 0 && options.maxEntries > 0
        ? new LRUCache({ max: options.maxEntries, ttl: options.ttlSeconds * 1000, ttlAutopurge: false })
        : null;
    this.#listening = options.listening ?? (() => true);
  }

  get(key: string): SessionContext | undefined {
    return this.#listening() ? this.#entries?.get(key) : undefined;
  }

  /** Counts evictions; read it before a database lookup and hand it to `set`. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Caches what a lookup found, unless an eviction happened since the lookup began (`generation`
   * changed): its answer may predate the change that caused the eviction.
   */
  set(key: string, context: SessionContext, generation: number): void {
    if (generation === this.#generation && this.#listening()) this.#entries?.set(key, context);
  }

  /** Drops every cached session of one person. Rare (bans), so a scan is cheaper than an index. */
  evictProfile(accountabilityProfileId: string): void {
    this.#generation++;
    if (!this.#entries) return;
    for (const [key, context] of this.#entries.entries()) {
      if (context.accountabilityProfileId === accountabilityProfileId) this.#entries.delete(key);
    }
  }

  clear(): void {
    this.#generation++;
    this.#entries?.clear();
  }
}

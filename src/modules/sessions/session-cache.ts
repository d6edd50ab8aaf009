import { LRUCache } from 'lru-cache';
import type { InvalidationBus } from '../../cache/invalidation-bus.js';
import type { SessionContext } from './session.js';

/**
 * A node-local cache of resolved sessions for the read-only hot path (`GET /session`). Entries are
 * dropped when the person they belong to changes (ban, unban), here and, through the invalidation
 * bus, on every other node; the TTL bounds staleness should a message be lost. State-changing
 * requests never read from it: they see bans at once on every node.
 */
export class SessionCache {
  /**
   * Made on the first entry (never while `#newEntries` is null: caching is off). An LRUCache
   * allocates room for all `max` entries up front (about 20 ms for 100,000): every app the tests
   * build paid it, most of them caching nothing here.
   */
  #entries: LRUCache<string, SessionContext> | undefined;
  readonly #newEntries: (() => LRUCache<string, SessionContext>) | null;
  /**
   * The keys of each person's entries, so that an eviction touches only that person's few entries.
   * Evictions are not rare: every persona change and sign-in makes one, and a scan of the whole
   * cache made each cost as much as the cache was big (issue 12's soak: CPU per request grew with
   * the visitors seen). Kept in step with the LRU's own removals through `dispose`. Most people have
   * one entry: theirs is the key itself, and a set only from the second on.
   */
  readonly #keysByProfile = new Map<string, string | Set<string>>();
  readonly #listening: () => boolean;
  #generation = 0;

  /**
   * `listening` says whether evictions from other nodes can reach this cache right now (see
   * InvalidationBus.isListening); while it is false the cache is neither read nor filled, so a ban
   * placed elsewhere is seen on the next request, from the database, instead of within the TTL.
   */
  constructor(options: { readonly ttlSeconds: number; readonly maxEntries: number; readonly listening?: () => boolean }) {
    this.#newEntries =
      options.ttlSeconds > 0 && options.maxEntries > 0
        ? () => new LRUCache({
            max: options.maxEntries,
            ttl: options.ttlSeconds * 1000,
            ttlAutopurge: false,
            // Every removal (evicted for room, expired, deleted, replaced by a set) leaves the index too.
            dispose: (context, key) => this.#unindex(context.accountabilityProfileId, key),
          })
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
    if (generation !== this.#generation || !this.#listening() || !this.#newEntries) return;
    // Set first: replacing an entry disposes the old one (and unindexes its key) before it is indexed again.
    (this.#entries ??= this.#newEntries()).set(key, context);
    const profileId = context.accountabilityProfileId;
    const keys = this.#keysByProfile.get(profileId);
    if (keys === undefined || keys === key) this.#keysByProfile.set(profileId, key);
    else if (typeof keys === 'string') this.#keysByProfile.set(profileId, new Set([keys, key]));
    else keys.add(key);
  }

  /** Drops every cached session of one person: as many steps as they have entries, whatever the cache holds. */
  evictProfile(accountabilityProfileId: string): void {
    this.#generation++;
    const keys = this.#keysByProfile.get(accountabilityProfileId);
    if (keys === undefined || !this.#entries) return;
    // A copy: each delete disposes its entry, which removes the key from this very set.
    for (const key of typeof keys === 'string' ? [keys] : [...keys]) this.#entries.delete(key);
    this.#keysByProfile.delete(accountabilityProfileId);
  }

  /**
   * Drops the entries past their TTL. The LRU drops an expired entry only when it is read or pushed
   * out for room, so without this the cache fills to `maxEntries` with visitors long gone (about a
   * kilobyte each: the soak's heap grew by what its new guests left there). Run once per TTL.
   */
  sweepExpired(): void {
    this.#entries?.purgeStale();
  }

  clear(): void {
    this.#generation++;
    this.#entries?.clear();
    this.#keysByProfile.clear();
  }

  /** How many people have entries (for tests: the index must not outgrow the cache). */
  get indexedProfiles(): number {
    return this.#keysByProfile.size;
  }

  #unindex(profileId: string, key: string): void {
    const keys = this.#keysByProfile.get(profileId);
    if (keys === key) this.#keysByProfile.delete(profileId);
    else if (typeof keys === 'object') {
      keys.delete(key);
      if (keys.size === 1) this.#keysByProfile.set(profileId, keys.values().next().value as string);
    }
  }
}

/**
 * This node's session cache, kept in step with the invalidation bus (a person's eviction, or
 * everything after the node may have missed messages), its expired entries swept once per TTL.
 */
export function openNodeSessionCache(
  settings: { readonly ttlSeconds: number; readonly maxEntries: number },
  bus: InvalidationBus,
): { readonly cache: SessionCache; close(): void } {
  const cache = new SessionCache({ ...settings, listening: () => bus.isListening() });
  bus.subscribe((message) => {
    if (message.kind === 'all') cache.clear();
    else if (message.kind === 'profile') cache.evictProfile(message.id);
  });
  const sweep = settings.ttlSeconds > 0 ? setInterval(() => cache.sweepExpired(), settings.ttlSeconds * 1000).unref() : undefined;
  return { cache, close: () => clearInterval(sweep) };
}

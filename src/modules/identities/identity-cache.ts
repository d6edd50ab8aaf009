import { LRUCache } from 'lru-cache';
import type { IdentityRecord } from './identity.js';

interface Entry {
  readonly record: IdentityRecord;
  /** The identity generation read before the database read that found `record`. */
  readonly generation: string;
}

/**
 * A node-local cache of live identities for the public lookups (GET /identities/{handle},
 * WebFinger). Only live identities are kept, never "not found": a handle claimed a moment ago is
 * read fresh.
 *
 * The rule that keeps it strict across nodes: an entry is served only to a lookup that read the
 * same identity generation (see IdentityGeneration) as the lookup that stored it, and a lookup
 * stores its answer under the generation it read *before* its database read. A change bumps the
 * generation after its commit and before its answer; so a lookup that starts after that answer
 * reads the new generation, passes over every older entry and reads the database, and an answer
 * read before the commit is only ever stored under the old generation. Entries left behind by a
 * bump are never served again; the LRU bound and the TTL reclaim their memory.
 */
export class IdentityCache {
  /**
   * Made on the first entry (never while `#newEntries` is null: caching is off). An LRUCache
   * allocates room for all `max` entries up front (about 20 ms for 100,000): every app the tests
   * build paid it, most of them caching nothing here.
   */
  #entries: LRUCache<string, Entry> | undefined;
  readonly #newEntries: (() => LRUCache<string, Entry>) | null;

  constructor(options: { readonly ttlSeconds: number; readonly maxEntries: number }) {
    this.#newEntries =
      options.ttlSeconds > 0 && options.maxEntries > 0
        ? () => new LRUCache({ max: options.maxEntries, ttl: options.ttlSeconds * 1000, ttlAutopurge: false })
        : null;
  }

  /** The live identity stored under exactly `generation`, if any. */
  get(handle: string, generation: string): IdentityRecord | undefined {
    const entry = this.#entries?.get(handle);
    return entry?.generation === generation ? entry.record : undefined;
  }

  /** Keeps what a lookup found, under the generation it read before its database read. */
  set(handle: string, record: IdentityRecord, generation: string): void {
    if (this.#newEntries) (this.#entries ??= this.#newEntries()).set(handle, { record, generation });
  }
}

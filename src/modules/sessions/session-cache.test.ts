import { describe, expect, it } from 'vitest';
import { SessionCache } from './session-cache.js';
import type { SessionContext } from './session.js';

const context = (profile: string, banned = false): SessionContext => ({
  sessionPublicId: 'p', sessionId: `s-${profile}`,
  accountId: `a-${profile}`,
  accountType: 'guest',
  accountabilityProfileId: profile,
  banned,
  persona: null,
});

describe('SessionCache', () => {
  it('serves what was set, and drops one person\'s entries on eviction, keeping the others', () => {
    const cache = new SessionCache({ ttlSeconds: 60, maxEntries: 100 });
    cache.set('k1', context('p1'), cache.generation);
    cache.set('k2', context('p1'), cache.generation);
    cache.set('k3', context('p2'), cache.generation);
    cache.evictProfile('p1');
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k2')).toBeUndefined();
    expect(cache.get('k3')?.accountabilityProfileId).toBe('p2');
  });

  it('keeps its per-person index in step with the LRU: room made, entries replaced, cleared', () => {
    const cache = new SessionCache({ ttlSeconds: 60, maxEntries: 3 });
    for (let index = 0; index < 10; index++) cache.set(`k${index}`, context(`p${index}`), cache.generation);
    // Only the three newest stay, and the index holds no one else (it would grow with every visitor).
    expect(cache.indexedProfiles).toBe(3);
    expect(cache.get('k9')?.accountabilityProfileId).toBe('p9');
    // A key now answering for another person: evicting the old person must leave it alone.
    cache.set('k9', context('p7'), cache.generation);
    cache.evictProfile('p9');
    expect(cache.get('k9')?.accountabilityProfileId).toBe('p7');
    cache.evictProfile('p7');
    expect(cache.get('k7')).toBeUndefined();
    expect(cache.get('k9')).toBeUndefined();
    expect(cache.indexedProfiles).toBe(1); // p8
    cache.clear();
    expect(cache.indexedProfiles).toBe(0);
  });

  it('does not cache a lookup that began before an eviction (a ban committed meanwhile)', () => {
    const cache = new SessionCache({ ttlSeconds: 60, maxEntries: 100 });
    const before = cache.generation; // lookup starts, reads the database …
    cache.evictProfile('p1'); // … a ban commits and evicts …
    cache.set('k1', context('p1', false), before); // … the stale "not banned" answer arrives
    expect(cache.get('k1')).toBeUndefined();
    cache.set('k1', context('p1', true), cache.generation);
    expect(cache.get('k1')?.banned).toBe(true);
  });

  it('clear drops everything and also guards lookups in flight', () => {
    const cache = new SessionCache({ ttlSeconds: 60, maxEntries: 100 });
    cache.set('k1', context('p1'), cache.generation);
    const before = cache.generation;
    cache.clear();
    cache.set('k2', context('p2'), before);
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k2')).toBeUndefined();
  });

  it('is neither read nor filled while invalidations cannot reach it (Redis down)', () => {
    let listening = true;
    const cache = new SessionCache({ ttlSeconds: 60, maxEntries: 100, listening: () => listening });
    cache.set('k1', context('p1'), cache.generation);
    listening = false;
    expect(cache.get('k1')).toBeUndefined();
    cache.set('k2', context('p2'), cache.generation);
    listening = true;
    expect(cache.get('k2')).toBeUndefined();
    expect(cache.get('k1')?.accountabilityProfileId).toBe('p1'); // the bus clears it on resubscribing
  });

  it('sweeps entries past their TTL that nobody read again, and their index with them', async () => {
    const cache = new SessionCache({ ttlSeconds: 1, maxEntries: 100 });
    cache.set('k1', context('p1'), cache.generation);
    cache.set('k2', context('p2'), cache.generation);
    cache.set('k3', context('p2'), cache.generation);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(cache.indexedProfiles).toBe(2); // expired, but the LRU drops them only when read or pushed out
    cache.sweepExpired();
    expect(cache.indexedProfiles).toBe(0);
    cache.set('k2', context('p2'), cache.generation); // and the index works on from empty
    cache.evictProfile('p2');
    expect(cache.get('k2')).toBeUndefined();
  });

  it('caches nothing when turned off (TTL 0)', () => {
    const cache = new SessionCache({ ttlSeconds: 0, maxEntries: 100 });
    cache.set('k1', context('p1'), cache.generation);
    expect(cache.get('k1')).toBeUndefined();
  });
});

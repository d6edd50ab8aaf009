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

  it('caches nothing when turned off (TTL 0)', () => {
    const cache = new SessionCache({ ttlSeconds: 0, maxEntries: 100 });
    cache.set('k1', context('p1'), cache.generation);
    expect(cache.get('k1')).toBeUndefined();
  });
});

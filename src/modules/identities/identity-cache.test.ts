import { describe, expect, it } from 'vitest';
import { IdentityCache } from './identity-cache.js';
import type { IdentityRecord } from './identity.js';

const record = (handle: string, displayName = 'Alice'): IdentityRecord => ({
  handle,
  displayName,
  avatarUrl: null,
  publicKeyHash: 'ab'.repeat(32),
  publicKey: null,
  territory: { code: 'eu', name: 'Europe', federationDomain: null, matrixDomain: null },
  aliases: [],
});

describe('IdentityCache', () => {
  it('serves an entry only to a lookup that read the generation it was stored under', () => {
    const cache = new IdentityCache({ ttlSeconds: 60, maxEntries: 100 });
    cache.set('alice', record('alice'), '7');
    expect(cache.get('alice', '7')?.handle).toBe('alice');
    expect(cache.get('alice', '8')).toBeUndefined(); // a bump since: read the database
    expect(cache.get('bob', '7')).toBeUndefined();
    cache.set('alice', record('alice', 'Renamed'), '8');
    expect(cache.get('alice', '8')?.displayName).toBe('Renamed');
  });

  it('forgets entries after the TTL, and caches nothing when turned off (TTL 0)', async () => {
    const short = new IdentityCache({ ttlSeconds: 1, maxEntries: 100 });
    short.set('alice', record('alice'), '1');
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect(short.get('alice', '1')).toBeUndefined();
    const off = new IdentityCache({ ttlSeconds: 0, maxEntries: 100 });
    off.set('alice', record('alice'), '1');
    expect(off.get('alice', '1')).toBeUndefined();
  });
});

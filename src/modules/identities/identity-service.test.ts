import { describe, expect, it } from 'vitest';
import { TokenHasher } from '../../crypto/tokens.js';
import type { LookupGate } from '../../rate-limit/lookup-gate.js';
import { IdentityCache } from './identity-cache.js';
import type { IdentityRecord } from './identity.js';
import type { IdentityRepository } from './identity-repository.js';
import { createIdentityService } from './identity-service.js';

const alice: IdentityRecord = {
  handle: 'alice',
  displayName: 'Alice',
  avatarUrl: null,
  publicKeyHash: 'ab'.repeat(32),
  publicKey: null,
  territory: { code: 'eu', name: 'Europe', federationDomain: null, matrixDomain: null },
  aliases: [],
};

/** A database whose reads can be held open, and a gate whose generation the test bumps. */
function fixture() {
  let live = true;
  let generation = 1;
  let held: (() => void) | null = null;
  const reads: string[] = [];
  const identities: IdentityRepository = {
    async findLive(handle) {
      reads.push(handle);
      const answer = live ? alice : null; // read now: what the database held when the query ran
      if (held === null) return answer;
      await new Promise<void>((resolve) => (held = resolve));
      return answer;
    },
  };
  const gate: LookupGate = { admit: async () => ({ allowed: true, retryAfterSeconds: 1, generation: String(generation) }) };
  const service = createIdentityService({
    identities,
    cache: new IdentityCache({ ttlSeconds: 60, maxEntries: 100 }),
    gate,
    hasher: new TokenHasher('test-key'),
    limits: { perClient: 1000, windowSeconds: 60 },
    publicOrigin: 'https://example.org',
  });
  return {
    service,
    reads,
    /** The next database read answers, then waits until `release`. */
    hold: () => (held = () => undefined),
    release: () => {
      const resolve = held;
      held = null;
      resolve?.();
    },
    /** A deactivation: committed, then the generation bumped, before it is answered. */
    deactivate: () => {
      live = false;
      generation++;
    },
  };
}

describe('the identity generation rule', () => {
  it('serves from the cache while the generation stands', async () => {
    const { service, reads } = fixture();
    expect((await service.lookup('1.2.3.4', 'alice')).handle).toBe('alice');
    expect((await service.lookup('1.2.3.4', 'Alice')).handle).toBe('alice');
    expect(reads).toEqual(['alice']);
  });

  it('never serves an answer read before a bump to a lookup that starts after it', async () => {
    const f = fixture();
    f.hold();
    const early = f.service.lookup('1.2.3.4', 'alice'); // reads generation 1, then the live persona …
    await new Promise((resolve) => setImmediate(resolve));
    f.deactivate(); // … the deactivation commits and bumps to 2 while that read is in flight …
    f.release(); // … and the stale live answer arrives, and is stored (under 1).
    expect((await early).handle).toBe('alice');
    await expect(f.service.lookup('1.2.3.4', 'alice')).rejects.toMatchObject({ code: 'IDENTITY_NOT_FOUND' });
    await expect(f.service.webfinger('1.2.3.4', 'acct:alice@example.org', [])).rejects.toMatchObject({ code: 'IDENTITY_NOT_FOUND' });
    expect(f.reads).toEqual(['alice', 'alice', 'alice']); // every lookup after the bump read the database
  });

  it('passes over an entry stored before a bump even when nothing was in flight', async () => {
    const f = fixture();
    await f.service.lookup('1.2.3.4', 'alice');
    f.deactivate();
    await expect(f.service.lookup('1.2.3.4', 'alice')).rejects.toMatchObject({ code: 'IDENTITY_NOT_FOUND' });
  });
});

import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { didKeyOf } from './did-key.js';
import { AGENT_PUB_KEY_BYTES, dhtLocationOf, holochainAgentKeyOf, rawKeyOfHolochainAgentKey } from './holochain-agent-key.js';

/**
 * Agent keys made by Holochain itself: the first is printed by `hc sandbox call new-agent` in a
 * public Holochain node deployment guide; the others stand as agent constants in public
 * Holochain apps' sources. Their last 4 bytes are the DHT location Holochain computed.
 */
const HOLOCHAIN_AGENT_KEYS = [
  'uhCAkN5IokFxdryZWUzR6Nb89wjVsiENaXp8uGsKbGJpT1SKxPzEm',
  'uhCAkiqczpYdyymsibsOjupr1Fx31_cPHLgzxqwv9-3FOtATGMzzl',
  'uhCAkHjbsLWchmJp7nOWH2wWlnfWz2yhtGYv4IS4MJXxrmydonqWy',
];

const rawKeyOf = (agentKey: string) => Buffer.from(agentKey.slice(1), 'base64url').subarray(3, 35);

function newRawKey(): Buffer {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

describe('holochainAgentKeyOf', () => {
  it.each(HOLOCHAIN_AGENT_KEYS)('encodes the key of %s exactly as Holochain did (prefix, key, DHT location)', (agentKey) => {
    expect(holochainAgentKeyOf(rawKeyOf(agentKey))).toBe(agentKey);
  });

  it('is `u` + 39 bytes of base64url, starting uhCAk, and round-trips', () => {
    for (let i = 0; i < 20; i++) {
      const raw = newRawKey();
      const agentKey = holochainAgentKeyOf(raw);
      expect(agentKey).toMatch(/^uhCAk[A-Za-z0-9_-]{48}$/);
      const bytes = Buffer.from(agentKey.slice(1), 'base64url');
      expect(bytes).toHaveLength(AGENT_PUB_KEY_BYTES);
      expect([...bytes.subarray(0, 3)]).toEqual([0x84, 0x20, 0x24]);
      expect(bytes.subarray(3, 35).equals(raw)).toBe(true);
      expect(Buffer.from(rawKeyOfHolochainAgentKey(agentKey) as Uint8Array).equals(raw)).toBe(true);
    }
  });

  it('uses BLAKE2b with a 16-byte digest, not a truncated BLAKE2b-512', () => {
    const raw = rawKeyOf(HOLOCHAIN_AGENT_KEYS[0] as string);
    const truncated = createHash('blake2b512').update(raw).digest().subarray(0, 16);
    const folded = Buffer.alloc(4);
    for (let i = 0; i < 16; i++) folded[i % 4]! ^= truncated[i]!;
    expect(Buffer.from(dhtLocationOf(raw)).equals(folded)).toBe(false);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => holochainAgentKeyOf(new Uint8Array(31))).toThrow(RangeError);
    expect(() => holochainAgentKeyOf(new Uint8Array(33))).toThrow(RangeError);
  });

  it('names the same key as its did:key does', () => {
    const raw = newRawKey();
    expect(didKeyOf(rawKeyOfHolochainAgentKey(holochainAgentKeyOf(raw)) as Uint8Array)).toBe(didKeyOf(raw));
  });
});

describe('rawKeyOfHolochainAgentKey', () => {
  it('refuses another hash type, a wrong location, a wrong length and another spelling', () => {
    const agentKey = HOLOCHAIN_AGENT_KEYS[0] as string;
    const bytes = Buffer.from(agentKey.slice(1), 'base64url');
    const entryHash = Buffer.from(bytes);
    entryHash[1] = 0x21; // uhCEk: an EntryHash
    const moved = Buffer.from(bytes);
    moved[38]! ^= 1;
    for (const bad of [`u${entryHash.toString('base64url')}`, `u${moved.toString('base64url')}`, agentKey.slice(0, -1), `m${agentKey.slice(1)}`, `${agentKey}=`]) {
      expect(rawKeyOfHolochainAgentKey(bad), bad).toBeNull();
    }
  });
});

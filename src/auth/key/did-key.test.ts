import { createPrivateKey, createPublicKey } from 'node:crypto';
import { base58 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { didKeyOf } from './did-key.js';

/** The ed25519 public key of a 32-byte seed, by node:crypto (PKCS #8 wrapping of RFC 8410). */
function publicKeyOfSeed(seedHex: string): Buffer {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]);
  const jwk = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

// The did:key method's own test vectors (w3c-ccg/did-method-key, test-vectors/ed25519-x25519.json).
const VECTORS = [
  {
    seed: '0000000000000000000000000000000000000000000000000000000000000000',
    publicKeyBase58: '4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS',
    did: 'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp',
  },
  {
    seed: '0000000000000000000000000000000000000000000000000000000000000001',
    publicKeyBase58: '6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt',
    did: 'did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG',
  },
];

describe('didKeyOf', () => {
  it.each(VECTORS)('derives $did from the key of seed …$seed', ({ seed, publicKeyBase58, did }) => {
    const raw = publicKeyOfSeed(seed);
    expect(base58.encode(raw)).toBe(publicKeyBase58);
    expect(didKeyOf(raw)).toBe(did);
  });

  it('gives every ed25519 did:key the z6Mk prefix of the 0xed01 multicodec', () => {
    expect(didKeyOf(new Uint8Array(32).fill(0x5a))).toMatch(/^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/);
  });

  it('refuses anything but a 32-byte key', () => {
    expect(() => didKeyOf(new Uint8Array(31))).toThrow(RangeError);
    expect(() => didKeyOf(new Uint8Array(33))).toThrow(RangeError);
  });
});

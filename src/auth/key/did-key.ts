import { base58 } from '@scure/base';

/** The multicodec prefix of an ed25519 public key (`ed25519-pub`, 0xed, as an unsigned varint). */
const ED25519_PUB = Uint8Array.of(0xed, 0x01);

export const ED25519_PUBLIC_KEY_BYTES = 32;

/**
 * The did:key of a raw ed25519 public key: `did:key:z` + base58btc(0xed 0x01 ‖ key), per the
 * did:key method (W3C CCG). Deterministic, so it is the key account's identifier.
 */
export function didKeyOf(rawPublicKey: Uint8Array): string {
  if (rawPublicKey.length !== ED25519_PUBLIC_KEY_BYTES) throw new RangeError('An ed25519 public key is 32 bytes.');
  const bytes = new Uint8Array(ED25519_PUB.length + rawPublicKey.length);
  bytes.set(ED25519_PUB, 0);
  bytes.set(rawPublicKey, ED25519_PUB.length);
  return `did:key:z${base58.encode(bytes)}`;
}

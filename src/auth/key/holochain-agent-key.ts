import { blake2b } from '@noble/hashes/blake2b';
import { ED25519_PUBLIC_KEY_BYTES } from './did-key.js';

/** HoloHash's 3-byte type prefix of an `AgentPubKey` (multihash-compatible; `uhCAk` once encoded). */
const AGENT_PREFIX = Uint8Array.of(0x84, 0x20, 0x24);
const LOCATION_BYTES = 4;
export const AGENT_PUB_KEY_BYTES = AGENT_PREFIX.length + ED25519_PUBLIC_KEY_BYTES + LOCATION_BYTES;

/**
 * The DHT location of a 32-byte HoloHash core: BLAKE2b with a 16-byte digest (a parameter of the
 * hash, not a truncated BLAKE2b-512: the output differs), XOR-folded into 4 bytes. As holo_hash's
 * `holo_dht_location_bytes` (holochain/holochain, crates/holo_hash).
 */
export function dhtLocationOf(core: Uint8Array): Uint8Array {
  if (core.length !== ED25519_PUBLIC_KEY_BYTES) throw new RangeError('A HoloHash core is 32 bytes.');
  const hash = blake2b(core, { dkLen: 16 });
  const location = new Uint8Array(LOCATION_BYTES);
  for (let i = 0; i < hash.length; i++) location[i % LOCATION_BYTES]! ^= hash[i]!;
  return location;
}

/**
 * A raw ed25519 public key as Holochain's `AgentPubKey` (spec 004 phase 3's native agent id):
 * prefix ‖ key ‖ DHT location (39 bytes), then `u` + unpadded base64url (HoloHash's `Display`).
 * An agent key is the key itself, not a hash of it, so that signatures prove themselves: the same
 * key signs in here and would act as the person's agent on a Holochain DHT.
 */
export function holochainAgentKeyOf(rawPublicKey: Uint8Array): string {
  if (rawPublicKey.length !== ED25519_PUBLIC_KEY_BYTES) throw new RangeError('An ed25519 public key is 32 bytes.');
  const bytes = new Uint8Array(AGENT_PUB_KEY_BYTES);
  bytes.set(AGENT_PREFIX, 0);
  bytes.set(rawPublicKey, AGENT_PREFIX.length);
  bytes.set(dhtLocationOf(rawPublicKey), AGENT_PREFIX.length + ED25519_PUBLIC_KEY_BYTES);
  return `u${Buffer.from(bytes).toString('base64url')}`;
}

/** The raw ed25519 key of an `AgentPubKey` string, or null when it is not one (wrong prefix, length or location). */
export function rawKeyOfHolochainAgentKey(agentKey: string): Uint8Array | null {
  if (!/^u[A-Za-z0-9_-]{52}$/.test(agentKey)) return null;
  const bytes = Buffer.from(agentKey.slice(1), 'base64url');
  if (bytes.length !== AGENT_PUB_KEY_BYTES || !AGENT_PREFIX.every((byte, i) => bytes[i] === byte)) return null;
  const raw = new Uint8Array(bytes.subarray(AGENT_PREFIX.length, AGENT_PREFIX.length + ED25519_PUBLIC_KEY_BYTES));
  const location = bytes.subarray(AGENT_PREFIX.length + ED25519_PUBLIC_KEY_BYTES);
  return Buffer.from(dhtLocationOf(raw)).equals(location) ? raw : null;
}

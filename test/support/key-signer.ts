import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/** What `POST /api/v2/auth/challenge {strategy: 'key', publicKey}` answers (besides correlationId). */
export interface KeyChallenge {
  readonly challenge: string;
  readonly message: string;
}

/** The body of `POST /api/v2/auth/authenticate` for a key. */
export interface KeyProof {
  readonly strategy: 'key';
  readonly publicKey: string;
  readonly challenge: string;
  readonly signature: string;
}

/** An ed25519 key pair (node:crypto); `publicKey` is the raw 32-byte key in unpadded base64url. */
export interface TestKeyPair {
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

export function newKeyPair(): TestKeyPair {
  const pair = generateKeyPairSync('ed25519');
  const jwk = pair.publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('ed25519 JWK without x');
  return { publicKey: jwk.x, privateKey: pair.privateKey };
}

/** The raw 32-byte public key of a pair. */
export function rawPublicKey(pair: TestKeyPair): Buffer {
  return Buffer.from(pair.publicKey, 'base64url');
}

/**
 * Does what a key client does with a challenge: signs the message it was given (ed25519, UTF-8
 * bytes, no prehash). `message` replaces the text signed, for negative cases.
 */
export function signKeyChallenge(challenge: KeyChallenge, pair: TestKeyPair, message: string = challenge.message): KeyProof {
  const signature = sign(null, Buffer.from(message, 'utf8'), pair.privateKey).toString('base64url');
  return { strategy: 'key', publicKey: pair.publicKey, challenge: challenge.challenge, signature };
}

import { recordKeyHash } from '../../modules/handles/handle-repository.js';
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519';
import Type from 'typebox';
import { AppError } from '../../errors.js';
import type { StrategyDeps } from '../strategies.js';
import type { SignInStrategy, VerifiedIdentity } from '../strategy.js';
import { didKeyOf, ED25519_PUBLIC_KEY_BYTES } from './did-key.js';
import { keySignInMessage } from './key-message.js';

/** 128 bits: unguessable within the challenge's short life. */
const CHALLENGE_BYTES = 16;
const SIGNATURE_BYTES = 64;

/** Unpadded base64url of exactly `bytes` bytes (the schema checks the length; decoding checks the rest). */
const base64url = (bytes: number, description: string) =>
  Type.String({ pattern: `^[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}$`, description });

const PublicKey = base64url(ED25519_PUBLIC_KEY_BYTES, 'The raw 32-byte ed25519 public key, base64url without padding.');

const challengeBody = Type.Object({ publicKey: PublicKey }, { additionalProperties: false });

const challengeResponse = Type.Object({
  challenge: base64url(CHALLENGE_BYTES, 'Echo it back with the signature; single use.'),
  message: Type.String({ description: 'The exact text to sign (UTF-8 bytes, ed25519, no prehash).' }),
});

const proofBody = Type.Object(
  {
    publicKey: PublicKey,
    challenge: base64url(CHALLENGE_BYTES, 'The challenge answered by POST /api/v2/auth/challenge.'),
    signature: base64url(SIGNATURE_BYTES, 'The 64-byte ed25519 signature of `message`, base64url without padding.'),
  },
  { additionalProperties: false },
);

/**
 * ed25519 challenge-response (spec 004 phase 2): the client names its public key, gets a random
 * challenge inside a message naming this service, and signs the message with the private key it
 * alone holds. The account's identifier is the key's did:key; the raw key is kept as its credential.
 */
export function createKeyStrategy(deps: StrategyDeps): SignInStrategy | null {
  const { config, verifications, hasher, accountSecrets } = deps;
  const domain = new URL(config.publicOrigin).host;
  const ttlSeconds = config.signIn.challengeTtlSeconds;
  const challengeHash = (challenge: string) => hasher.hash('challenge', `key:${challenge}`);
  // Which key a challenge was issued for, as a keyed hash: the global verification record must not
  // hold the key itself, a person's identifier whose credential lives in their territory.
  const keyBinding = (publicKey: string) => hasher.hash('challenge', `key-holder:${publicKey}`).toString('hex');

  return {
    name: 'key',
    authenticator: true,
    challengeBody,
    challengeResponse,
    proofBody,

    async challenge(input) {
      const publicKey = input.publicKey as string;
      publicKeyObject(decodeExact(publicKey, ED25519_PUBLIC_KEY_BYTES, 'publicKey'));
      const challenge = randomBytes(CHALLENGE_BYTES).toString('base64url');
      // Bound to the key, so the answer must come from that key.
      await verifications.create({ strategy: 'key', challengeHash: challengeHash(challenge), state: { keyBinding: keyBinding(publicKey) }, ttlSeconds });
      return { challenge, message: keySignInMessage(domain, challenge) };
    },

    async verify(input): Promise<VerifiedIdentity> {
      const publicKey = input.publicKey as string;
      const challenge = input.challenge as string;
      const rawKey = decodeExact(publicKey, ED25519_PUBLIC_KEY_BYTES, 'publicKey');
      const key = publicKeyObject(rawKey);
      decodeExact(challenge, CHALLENGE_BYTES, 'challenge');
      const signature = decodeExact(input.signature as string, SIGNATURE_BYTES, 'signature');
      // Spent before the signature is looked at: one attempt per challenge, even when concurrent.
      const consumed = await verifications.consume('key', challengeHash(challenge));
      if (!consumed) throw new AppError('CHALLENGE_INVALID', 'The challenge is unknown, expired or already used. Ask for a new one.');
      // Both sides are public keys' hashes: a plain comparison leaks nothing worth timing.
      if (consumed.state.keyBinding !== keyBinding(publicKey)) throw new AppError('PROOF_INVALID', 'The challenge was issued for another key.');
      const message = Buffer.from(keySignInMessage(domain, challenge), 'utf8');
      if (!verifySignature(message, key, signature)) {
        throw new AppError('PROOF_INVALID', 'The signature does not verify for this key and challenge.');
      }
      return {
        type: 'key',
        identifier: didKeyOf(rawKey),
        verified: true,
        persistCredential: async (trx, owner) => {
          await recordKeyHash(trx, owner.accountId, rawKey);
          // Last: a remote territory commits this at once, and deletes it again should the global
          // part still fail (see AccountSecretStore).
          await accountSecrets.addKey(trx, owner, rawKey);
        },
      };
    },
  };
}

/** Decodes base64url and insists on the canonical spelling, so one key has one textual form. */
function decodeExact(value: string, bytes: number, field: string): Buffer {
  const decoded = Buffer.from(value, 'base64url');
  if (decoded.length !== bytes || decoded.toString('base64url') !== value) {
    throw new AppError('VALIDATION_FAILED', `${field} must be ${bytes} bytes in unpadded base64url.`);
  }
  return decoded;
}

/**
 * The key as node:crypto verifies with, once it is known to be a real one. OpenSSL takes any 32
 * bytes, and a small-order point (all zeros, say) "verifies" forged signatures with no private key
 * at all: anyone could sign in as that key's did:key. So the encoding is checked first (canonical,
 * on the curve, not of small order) with @noble/curves, the audited library viem already uses.
 */
function publicKeyObject(rawKey: Buffer): KeyObject {
  try {
    if (ed25519.ExtendedPoint.fromHex(rawKey).isSmallOrder()) throw new Error('small order');
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: rawKey.toString('base64url') }, format: 'jwk' });
  } catch {
    throw new AppError('VALIDATION_FAILED', 'publicKey is not a usable ed25519 public key.');
  }
}

function verifySignature(message: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

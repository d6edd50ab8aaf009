import { hkdfSync } from 'node:crypto';
import type { VersionedKey } from '../config.js';
import { lengthPrefixed } from './length-prefixed.js';
import { open, seal } from './sealed-box.js';
import type { TokenHasher } from './tokens.js';

/** An address in the one form it is hashed and sealed in; only `normalizeEmail` makes one. */
export type NormalizedEmail = string & { readonly __normalizedEmail: unique symbol };

/**
 * The whole address, trimmed, NFC-normalized and lower-cased. Lower-casing the local part is wider
 * than RFC 5321 allows in theory, but no mainstream provider has case-sensitive mailboxes, and it
 * stops `Alice@…` and `alice@…` from becoming two accounts. Dots and `+tags` are kept: they are
 * provider-specific, and folding them would merge addresses that really are different.
 */
export function normalizeEmail(raw: string): NormalizedEmail {
  return raw.trim().normalize('NFC').toLowerCase() as NormalizedEmail;
}

/** An address sealed for storage, with the id of the key that sealed it. */
export interface SealedEmail {
  readonly keyId: string;
  readonly sealed: Buffer;
}

const KEY_SALT = Buffer.from('personae/email/v1');

/**
 * Emails at rest (DESIGN.md §2.3): a keyed hash for lookups, and AES-256-GCM ciphertext for the
 * rare flows that must read the address back (recovery). Lookups always go by the hash.
 *
 * Each configured secret yields its AES key through HKDF (so a secret of any length makes a proper
 * 32-byte key); the first key seals, every key opens, so keys rotate by prepending a new one. The
 * associated data binds a ciphertext to its account: copied to another row, it does not open.
 */
export class EmailBox {
  readonly #hasher: TokenHasher;
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #current: string;

  constructor(keys: readonly VersionedKey[], hasher: TokenHasher) {
    const [first] = keys;
    if (!first) throw new Error('EmailBox needs at least one key');
    this.#hasher = hasher;
    this.#current = first.id;
    this.#keys = new Map(
      keys.map((key) => [key.id, Buffer.from(hkdfSync('sha256', Buffer.from(key.secret, 'utf8'), KEY_SALT, `key/${key.id}`, 32))]),
    );
  }

  /** The value stored in `accounts.lookup_key` for an email account. */
  lookupKey(email: NormalizedEmail): Buffer {
    return this.#hasher.hash('email', email);
  }

  seal(accountId: string, email: NormalizedEmail): SealedEmail {
    const key = this.#keys.get(this.#current) as Buffer;
    return { keyId: this.#current, sealed: seal(key, Buffer.from(email, 'utf8'), associatedData(accountId)) };
  }

  /** The address, or null when the key is unknown or the ciphertext does not belong to this account. */
  open(accountId: string, stored: SealedEmail): NormalizedEmail | null {
    const key = this.#keys.get(stored.keyId);
    const plaintext = key ? open(key, stored.sealed, associatedData(accountId)) : null;
    return plaintext ? (plaintext.toString('utf8') as NormalizedEmail) : null;
  }
}

function associatedData(accountId: string): Buffer {
  return lengthPrefixed(['account-email', accountId]);
}

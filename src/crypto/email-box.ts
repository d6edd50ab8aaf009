import type { VersionedKey } from '../config.js';
import { DataBox, type Sealed } from './data-box.js';
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
export type SealedEmail = Sealed;

/**
 * Emails at rest (DESIGN.md §2.3): a keyed hash for lookups, and AES-256-GCM ciphertext for the
 * rare flows that must read the address back (recovery, sending a code). Lookups always go by the hash.
 * Sealed in a DataBox of its own purpose, bound to the account: copied to another row, it does not open.
 */
export class EmailBox {
  readonly #hasher: TokenHasher;
  readonly #box: DataBox;

  constructor(keys: readonly VersionedKey[], hasher: TokenHasher) {
    this.#hasher = hasher;
    this.#box = new DataBox(keys, 'personae/email/v1');
  }

  /** The value stored in `accounts.lookup_key` for an email account. */
  lookupKey(email: NormalizedEmail): Buffer {
    return this.#hasher.hash('email', email);
  }

  seal(accountId: string, email: NormalizedEmail): SealedEmail {
    return this.#box.seal(['account-email', accountId], Buffer.from(email, 'utf8'));
  }

  /** The address, or null when the key is unknown or the ciphertext does not belong to this account. */
  open(accountId: string, stored: SealedEmail): NormalizedEmail | null {
    const plaintext = this.#box.open(['account-email', accountId], stored);
    return plaintext ? (plaintext.toString('utf8') as NormalizedEmail) : null;
  }
}

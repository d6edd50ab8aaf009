import { hkdfSync } from 'node:crypto';
import type { VersionedKey } from '../config.js';
import { lengthPrefixed } from './length-prefixed.js';
import { open, seal } from './sealed-box.js';

/** Bytes sealed for storage, with the id of the key that sealed them. */
export interface Sealed {
  readonly keyId: string;
  readonly sealed: Buffer;
}

/**
 * Data at rest under versioned keys (EMAIL_KEYS): AES-256-GCM with a key derived per purpose by
 * HKDF, so each use (emails, account identifiers, wallet keys, signing keys) has its own key even
 * though the operator manages one list. The first key seals, every key opens: keys rotate by
 * prepending a new one. The associated data binds a ciphertext to its row, so a copy moved to
 * another row does not open.
 */
export class DataBox {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #current: string;

  /** `salt` names the purpose; changing it makes a different key, so it is versioned (`…/v1`). */
  constructor(keys: readonly VersionedKey[], salt: string) {
    const [first] = keys;
    if (!first) throw new Error('DataBox needs at least one key');
    this.#current = first.id;
    const saltBytes = Buffer.from(salt);
    this.#keys = new Map(
      keys.map((key) => [key.id, Buffer.from(hkdfSync('sha256', Buffer.from(key.secret, 'utf8'), saltBytes, `key/${key.id}`, 32))]),
    );
  }

  seal(binding: readonly string[], plaintext: Buffer): Sealed {
    const key = this.#keys.get(this.#current) as Buffer;
    return { keyId: this.#current, sealed: seal(key, plaintext, lengthPrefixed(binding)) };
  }

  /** The plaintext, or null when the key is unknown or the ciphertext is not bound to `binding`. */
  open(binding: readonly string[], stored: Sealed): Buffer | null {
    const key = this.#keys.get(stored.keyId);
    return key ? open(key, stored.sealed, lengthPrefixed(binding)) : null;
  }
}

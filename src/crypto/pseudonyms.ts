import { createHmac } from 'node:crypto';
import type { VersionedKey } from '../config.js';
import { lengthPrefixed } from './length-prefixed.js';

/**
 * Stable keyed pseudonyms (spec 001, DESIGN §2b): HMAC-SHA256 under a versioned server key over
 * length-prefixed fields, never a bare hash of an id and a secret. Each value names the key that
 * made it (`<key id>.<mac>`), so keys can rotate while values already handed out stay as they are.
 */
export class Pseudonyms {
  readonly #current: VersionedKey;

  constructor(keys: readonly VersionedKey[]) {
    const current = keys[0];
    if (!current) throw new Error('at least one pseudonym key is required');
    this.#current = current;
  }

  /** The public author id of a persona: stable, and unlinkable to its other personas. */
  authorId(personaId: string): string {
    return this.#mac(['author', personaId], 18);
  }

  /**
   * A pairwise person hash, like OpenID Connect's pairwise `sub`: the same person gives the same
   * value to one app and unrelated values to two apps, so apps cannot join their users.
   */
  personHash(appId: string, accountabilityProfileId: string): string {
    return this.#mac(['person', appId, accountabilityProfileId], 32);
  }

  #mac(fields: readonly string[], bytes: number): string {
    const mac = createHmac('sha256', this.#current.secret).update(lengthPrefixed(fields)).digest();
    return `${this.#current.id}.${mac.subarray(0, bytes).toString('base64url')}`;
  }
}

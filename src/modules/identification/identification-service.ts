import type { Clock } from '../../clock.js';
import { open, seal } from '../../crypto/sealed-box.js';
import { deriveTokenKeys } from '../../crypto/token-derived-keys.js';
import { AppError } from '../../errors.js';
import type { IdentificationRepository } from './identification-repository.js';
import { IDENTITY_LINK_PURPOSE, type IdentityLink } from './identification.js';

/**
 * Voluntary identification (spec 000). The row's key and its encryption key are derived from the
 * caller's own token, and the consent time travels inside the ciphertext, so a copy of the database
 * with every server key can neither attribute a row to an anonymous identity nor read it.
 */
export interface IdentificationService {
  /**
   * `home` is the accountability profile the browser acts as (signed in, else its guest), or null
   * with neither: the row is kept in that person's territory (with neither, where it already is,
   * else in the default territory).
   */
  store(token: string, identityData: Record<string, unknown>, consent: boolean, home: string | null): Promise<IdentityLink>;
  /** Reads the row, moving it first to `home`'s territory when it lives elsewhere (never for a null `home`). */
  read(token: string, home: string | null): Promise<IdentityLink>;
  remove(token: string): Promise<boolean>;
  /**
   * Carries the browser's row (if any) to `home`'s current territory: after a move, from the
   * browser that asked for it, since the move saga itself cannot know whose the row is.
   */
  follow(token: string, home: string): Promise<void>;
}

export function createIdentificationService(repository: IdentificationRepository, clock: Clock): IdentificationService {
  return {
    async store(token, identityData, consent, home) {
      if (consent !== true) {
        throw new AppError('CONSENT_REQUIRED', 'Identity data is stored only with explicit consent (consent: true).');
      }
      const link: IdentityLink = { identityData, consentedAt: clock.now().toISOString() };
      const keys = deriveTokenKeys(token, IDENTITY_LINK_PURPOSE);
      // The lookup key is the associated data: a sealed row cannot be moved under another key.
      await repository.put(keys.lookupKey, seal(keys.sealKey, Buffer.from(JSON.stringify(link)), keys.lookupKey), home);
      return link;
    },

    async read(token, home) {
      const keys = deriveTokenKeys(token, IDENTITY_LINK_PURPOSE);
      const sealed = await repository.find(keys.lookupKey, home);
      const plaintext = sealed ? open(keys.sealKey, sealed, keys.lookupKey) : null;
      if (!plaintext) throw new AppError('IDENTITY_LINK_NOT_FOUND', 'No identity data is linked to this browser.');
      return JSON.parse(plaintext.toString('utf8')) as IdentityLink;
    },

    remove(token) {
      return repository.remove(deriveTokenKeys(token, IDENTITY_LINK_PURPOSE).lookupKey);
    },

    async follow(token, home) {
      await repository.find(deriveTokenKeys(token, IDENTITY_LINK_PURPOSE).lookupKey, home);
    },
  };
}

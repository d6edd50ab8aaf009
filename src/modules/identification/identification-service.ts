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
  store(token: string, identityData: Record<string, unknown>, consent: boolean): Promise<IdentityLink>;
  read(token: string): Promise<IdentityLink>;
  remove(token: string): Promise<boolean>;
}

export function createIdentificationService(repository: IdentificationRepository, clock: Clock): IdentificationService {
  return {
    async store(token, identityData, consent) {
      if (consent !== true) {
        throw new AppError('CONSENT_REQUIRED', 'Identity data is stored only with explicit consent (consent: true).');
      }
      const link: IdentityLink = { identityData, consentedAt: clock.now().toISOString() };
      const keys = deriveTokenKeys(token, IDENTITY_LINK_PURPOSE);
      // The lookup key is the associated data: a sealed row cannot be moved under another key.
      await repository.put(keys.lookupKey, seal(keys.sealKey, Buffer.from(JSON.stringify(link)), keys.lookupKey));
      return link;
    },

    async read(token) {
      const keys = deriveTokenKeys(token, IDENTITY_LINK_PURPOSE);
      const sealed = await repository.find(keys.lookupKey);
      const plaintext = sealed ? open(keys.sealKey, sealed, keys.lookupKey) : null;
      if (!plaintext) throw new AppError('IDENTITY_LINK_NOT_FOUND', 'No identity data is linked to this browser.');
      return JSON.parse(plaintext.toString('utf8')) as IdentityLink;
    },

    remove(token) {
      return repository.remove(deriveTokenKeys(token, IDENTITY_LINK_PURPOSE).lookupKey);
    },
  };
}

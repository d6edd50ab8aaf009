import { open, seal } from '../../crypto/sealed-box.js';
import { deriveTokenKeys } from '../../crypto/token-derived-keys.js';
import { IDENTITY_LINK_PURPOSE } from './identification.js';

/** Moves an identity link from one token's keys to another's. */
export interface IdentityLinkRekey {
  /** Where the row lives under the old token. */
  readonly oldLookupKey: Buffer;
  /** The row re-sealed under the new token, or null when the old token's key does not open it. */
  reseal(sealed: Buffer): { readonly lookupKey: Buffer; readonly sealed: Buffer } | null;
}

/**
 * When the anonymous token rotates (at every sign-in), the person's voluntary identification must
 * follow it: the row is keyed and sealed only by material derived from the token, so it is opened
 * with the old token's key and sealed again with the new one. The server never held either key;
 * it sees both tokens only for the length of the request that rotates them.
 */
export function identityLinkRekey(oldToken: string, newToken: string): IdentityLinkRekey {
  const before = deriveTokenKeys(oldToken, IDENTITY_LINK_PURPOSE);
  const after = deriveTokenKeys(newToken, IDENTITY_LINK_PURPOSE);
  return {
    oldLookupKey: before.lookupKey,
    reseal(sealed) {
      const plaintext = open(before.sealKey, sealed, before.lookupKey);
      if (!plaintext) return null;
      return { lookupKey: after.lookupKey, sealed: seal(after.sealKey, plaintext, after.lookupKey) };
    },
  };
}

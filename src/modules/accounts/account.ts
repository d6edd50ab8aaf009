import type { TokenHasher } from '../../crypto/tokens.js';

/** The ways to sign in; each is a first-class account (spec 003's flat model). */
export type AccountType = 'guest' | 'email' | 'handle' | 'wallet' | 'social' | 'passkey' | 'key';

/**
 * How an account shares personas within its person's identity graph (spec 003): `linked` sees
 * every persona of the non-isolated accounts, `partial` its own plus a chosen set, `isolated` only
 * its own (and no other account sees its personas).
 */
export type PrivacyMode = 'linked' | 'partial' | 'isolated';
export const PRIVACY_MODES: readonly PrivacyMode[] = ['linked', 'partial', 'isolated'];

/**
 * A handle account's lookup key: the keyed hash every non-email method is found by
 * (`<type>:<identifier>`, purpose `account`), over the normalized handle.
 */
export function handleLookupKey(hasher: TokenHasher, handle: string): Buffer {
  return methodLookupKey(hasher, 'handle', handle);
}

/**
 * A non-email account's lookup key: the keyed hash of `<type>:<identifier>` (purpose `account`).
 * The global schema finds a wallet, a social login, a passkey (by its credential id) or a key by it
 * alone; the identifier itself stays sealed in the person's territory.
 */
export function methodLookupKey(hasher: TokenHasher, type: Exclude<AccountType, 'email' | 'guest'>, identifier: string): Buffer {
  return hasher.hash('account', `${type}:${identifier}`);
}

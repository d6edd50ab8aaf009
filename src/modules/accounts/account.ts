/** The ways to sign in; each is a first-class account (spec 003's flat model). */
export type AccountType = 'guest' | 'email' | 'wallet' | 'social' | 'passkey' | 'key';

/**
 * How an account shares personas within its person's identity graph (spec 003): `linked` sees
 * every persona of the non-isolated accounts, `partial` its own plus a chosen set, `isolated` only
 * its own (and no other account sees its personas).
 */
export type PrivacyMode = 'linked' | 'partial' | 'isolated';
export const PRIVACY_MODES: readonly PrivacyMode[] = ['linked', 'partial', 'isolated'];

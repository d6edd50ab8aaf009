/** The ways to sign in; each is a first-class account (spec 003's flat model). */
export type AccountType = 'guest' | 'email' | 'wallet' | 'social' | 'passkey' | 'key';

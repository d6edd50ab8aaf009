import type { AccountType } from '../modules/accounts/account.js';

/** The DataBox purpose every non-email account identifier is sealed under (see sign-in-composition.ts). */
export const ACCOUNT_IDENTIFIER_BOX = 'personae/account-identifiers/v1';

/**
 * The identifier as its owner may see it in the identity graph: enough to recognise, not enough
 * to copy. `alice@example.com` → `a•••e@example.com`; `0xabc…` → `0xab…cdef`; an OIDC subject
 * shows its provider and last four characters; a passkey its credential id's last four; a key its
 * did:key's last six.
 */
export function maskIdentifier(type: Exclude<AccountType, 'guest'>, identifier: string, provider: string | null): string {
  switch (type) {
    case 'email': {
      const at = identifier.lastIndexOf('@');
      const local = identifier.slice(0, at);
      const shown = local.length <= 2 ? `${local[0] ?? ''}•••` : `${local[0]}•••${local.at(-1)}`;
      return `${shown}${identifier.slice(at)}`;
    }
    case 'wallet':
      return `${identifier.slice(0, 4)}…${identifier.slice(-4)}`;
    case 'social':
      return `${provider ?? 'oidc'} …${identifier.slice(-4)}`;
    case 'passkey':
      return `passkey …${identifier.slice(-4)}`;
    case 'key':
      return `did:key:…${identifier.slice(-6)}`;
    case 'handle':
      // A handle is public already (it is the person's address): shown whole.
      return identifier;
  }
}

import type { TerritoryDatabase } from '../../db/territory-schema.js';

/** The global tables a territory row can name by id (always their `id` column). */
export type OwnerTable = 'accountability_profiles' | 'accounts' | 'sessions' | 'personas' | 'appeals' | 'invitations';

/** When a territory row stops being an orphan candidate, and what makes it one. */
export type OrphanRule =
  /**
   * The row names a global row by id in `column` (`owner`'s id): with that row absent from the
   * global database, the row is an orphan once `writtenAt` is older than the grace period.
   */
  | { readonly kind: 'owned'; readonly column: string; readonly owner: OwnerTable; readonly writtenAt: string }
  /**
   * The row names nobody, on purpose, and carries no time: the global `identity_links` points at the
   * territory that holds it. A row nothing points at is an orphan once two sweeps at least the grace
   * apart have found it so, unchanged (the first sighting is kept in the sweeping process only).
   */
  | { readonly kind: 'pointed' };

/**
 * How every territory table's orphans are found. The mapped type makes it exhaustive: a table added
 * to `TerritoryDatabase` does not compile until it says which global row keeps its rows alive.
 *
 * Only absence counts, never a mismatch: a person's rows in a territory they are moving to or from,
 * or hold a second citizenship in, name an owner that exists and are never touched; nor is a wallet
 * key or statement whose profile column differs from its persona's or appeal's (a guest merge
 * rewrites it with the row's old write time, in flight, while the global change has not committed).
 */
export const ORPHAN_RULES: { readonly [T in keyof TerritoryDatabase]: OrphanRule } = {
  residents: { kind: 'owned', column: 'accountability_profile_id', owner: 'accountability_profiles', writtenAt: 'created_at' },
  recovery_codes: { kind: 'owned', column: 'account_id', owner: 'accounts', writtenAt: 'created_at' },
  invitation_emails: { kind: 'owned', column: 'invitation_id', owner: 'invitations', writtenAt: 'created_at' },
  account_emails: { kind: 'owned', column: 'account_id', owner: 'accounts', writtenAt: 'created_at' },
  account_identifiers: { kind: 'owned', column: 'account_id', owner: 'accounts', writtenAt: 'created_at' },
  // A password change rewrites the row of a live account only; `updated_at` is its latest write.
  password_credentials: { kind: 'owned', column: 'account_id', owner: 'accounts', writtenAt: 'updated_at' },
  key_credentials: { kind: 'owned', column: 'account_id', owner: 'accounts', writtenAt: 'created_at' },
  persona_wallet_keys: { kind: 'owned', column: 'persona_id', owner: 'personas', writtenAt: 'created_at' },
  passkey_credentials: { kind: 'owned', column: 'account_id', owner: 'accounts', writtenAt: 'created_at' },
  // The session, not its account: ending a session touches no territory, so every ended one leaves its label here.
  session_labels: { kind: 'owned', column: 'session_id', owner: 'sessions', writtenAt: 'created_at' },
  appeal_statements: { kind: 'owned', column: 'appeal_id', owner: 'appeals', writtenAt: 'written_at' },
  sealed_identity_links: { kind: 'pointed' },
};

export type OwnedRule = Extract<OrphanRule, { kind: 'owned' }>;

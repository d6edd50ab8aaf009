import type { Db } from '../../db/database.js';
import type { AccountType, PrivacyMode } from '../accounts/account.js';
import { appendAudit, type AuditEntry } from '../audit/audit-repository.js';

/** One way the person signs in, as staff see it: its kind, never its identifier (no email, no address). */
export interface SignInMethod {
  readonly accountId: string;
  readonly type: AccountType;
  readonly provider: string | null;
  readonly verified: boolean;
  readonly privacyMode: PrivacyMode;
  readonly createdAt: string;
}

/** A link the person made between two of their sign-in methods (proving both sides). */
export interface DirectLink {
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly privacyMode: PrivacyMode | null;
  readonly createdAt: string;
}

export interface SignInMethodsRepository {
  /** The person's sign-in methods and direct links, audited as a look-up; null when no person has the id. */
  read(profileId: string, audit: AuditEntry): Promise<{ readonly methods: SignInMethod[]; readonly directLinks: DirectLink[] } | null>;
}

export function createSignInMethodsRepository(db: Db): SignInMethodsRepository {
  return {
    read: (profileId, audit) =>
      db.transaction().execute(async (trx) => {
        const profile = await trx.selectFrom('accountability_profiles').select('id').where('id', '=', profileId).executeTakeFirst();
        if (!profile) return null;
        const accounts = await trx
          .selectFrom('accounts')
          .select(['id', 'type', 'provider', 'verified', 'privacy_mode', 'created_at'])
          .where('accountability_profile_id', '=', profileId)
          .orderBy('created_at')
          .orderBy('id')
          .execute();
        const ids = accounts.map((account) => account.id);
        const links = ids.length === 0 ? [] : await trx
          .selectFrom('account_links')
          .select(['from_account_id', 'to_account_id', 'privacy_mode', 'created_at'])
          .where('kind', '=', 'direct')
          .where((eb) => eb.or([eb('from_account_id', 'in', ids), eb('to_account_id', 'in', ids)]))
          .orderBy('created_at')
          .execute();
        // Which methods are one person is what a look-up reveals: it is logged like one.
        await appendAudit(trx, audit);
        return {
          methods: accounts.map((row) => ({
            accountId: row.id,
            type: row.type,
            provider: row.provider,
            verified: row.verified,
            privacyMode: row.privacy_mode,
            createdAt: row.created_at.toISOString(),
          })),
          directLinks: links.map((row) => ({
            fromAccountId: row.from_account_id,
            toAccountId: row.to_account_id,
            privacyMode: row.privacy_mode,
            createdAt: row.created_at.toISOString(),
          })),
        };
      }),
  };
}

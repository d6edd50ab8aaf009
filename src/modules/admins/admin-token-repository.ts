import type { Db } from '../../db/database.js';
import { appendAudit, type AuditEntry } from '../audit/audit-repository.js';
import type { AdminRole, AdminTokenSummary } from './admin.js';

export interface AdminTokenRepository {
  /** Stores a new token's keyed hash, with its audit row, in one transaction. */
  create(token: { readonly name: string; readonly role: AdminRole; readonly tokenHash: Buffer }, audit: Omit<AuditEntry, 'target'>): Promise<AdminTokenSummary>;
  list(): Promise<AdminTokenSummary[]>;
  /** Revokes an active token (audited); false when no active token has that id. */
  revoke(id: string, at: Date, audit: Omit<AuditEntry, 'target'>): Promise<boolean>;
  /** The active token behind a hash, or null (unknown or revoked). */
  findActiveByHash(tokenHash: Buffer): Promise<{ readonly id: string; readonly role: AdminRole; readonly name: string } | null>;
}

type Row = { id: string; name: string; role: AdminRole; created_at: Date; revoked_at: Date | null };

const toSummary = (row: Row): AdminTokenSummary => ({
  id: row.id,
  name: row.name,
  role: row.role,
  createdAt: row.created_at.toISOString(),
  revoked: row.revoked_at !== null,
});

const SUMMARY_COLUMNS = ['id', 'name', 'role', 'created_at', 'revoked_at'] as const;

export function createAdminTokenRepository(db: Db): AdminTokenRepository {
  return {
    create: ({ name, role, tokenHash }, audit) =>
      db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('admin_tokens')
          .values({ name, role, token_hash: tokenHash })
          .returning(SUMMARY_COLUMNS)
          .executeTakeFirstOrThrow();
        await appendAudit(trx, { ...audit, target: `admin-token:${row.id}` });
        return toSummary(row);
      }),

    async list() {
      const rows = await db.selectFrom('admin_tokens').select(SUMMARY_COLUMNS).orderBy('created_at').orderBy('id').execute();
      return rows.map(toSummary);
    },

    revoke: (id, at, audit) =>
      db.transaction().execute(async (trx) => {
        const rows = await trx
          .updateTable('admin_tokens')
          .set({ revoked_at: at })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .returning('id')
          .execute();
        if (rows.length > 0) await appendAudit(trx, { ...audit, target: `admin-token:${id}` });
        return rows.length > 0;
      }),

    async findActiveByHash(tokenHash) {
      const row = await db
        .selectFrom('admin_tokens')
        .select(['id', 'role', 'name'])
        .where('token_hash', '=', tokenHash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return row ?? null;
    },
  };
}

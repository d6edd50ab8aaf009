import type { Db } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import { appendAudit, type AuditEntry } from '../audit/audit-repository.js';

export interface StoredPolicy {
  readonly value: unknown;
  readonly updatedAt: Date;
}

export interface PolicyRepository {
  /** Every stored override by name. */
  overrides(): Promise<Map<string, StoredPolicy>>;
  /** Stores an override, with its PolicyChanged event and audit row, in one transaction. */
  set(name: string, value: unknown, at: Date, audit: AuditEntry): Promise<void>;
  /** Drops an override (the default applies again); `effective` is the value now in force, for the event. */
  remove(name: string, effective: unknown, audit: AuditEntry): Promise<void>;
}

export function createPolicyRepository(db: Db): PolicyRepository {
  return {
    async overrides() {
      const rows = await db.selectFrom('policies').select(['name', 'value', 'updated_at']).execute();
      return new Map(rows.map((row) => [row.name, { value: row.value, updatedAt: row.updated_at }]));
    },

    set: (name, value, at, audit) =>
      db.transaction().execute(async (trx) => {
        const json = JSON.stringify(value);
        await trx
          .insertInto('policies')
          .values({ name, value: json, updated_at: at })
          .onConflict((conflict) => conflict.column('name').doUpdateSet({ value: json, updated_at: at }))
          .execute();
        await appendEvent(trx, { type: 'PolicyChanged', payload: { name, value } });
        await appendAudit(trx, audit);
      }),

    remove: (name, effective, audit) =>
      db.transaction().execute(async (trx) => {
        await trx.deleteFrom('policies').where('name', '=', name).execute();
        await appendEvent(trx, { type: 'PolicyChanged', payload: { name, value: effective } });
        await appendAudit(trx, audit);
      }),
  };
}

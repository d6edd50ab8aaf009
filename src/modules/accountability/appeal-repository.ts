import { crossDatabaseTransaction } from '../../db/cross-database-transaction.js';
import type { Db, Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import { appendAudit, type AuditEntry } from '../audit/audit-repository.js';
import type { AccountabilityChanges, AccountabilitySummary } from './accountability.js';
import { applyAccountabilityChanges } from './profile-repository.js';
import type { Appeal, AppealOutcome, AppealStatus } from './appeal.js';
import type { AppealStatementStore } from './appeal-statement-repository.js';

/** Why an appeal could not be resolved: it does not exist, or it was resolved already. */
export type ResolveAppealResult =
  | { readonly resolved: true; readonly appeal: Appeal; readonly accountability: AccountabilitySummary | null }
  | { readonly resolved: false; readonly reason: 'not-found' | 'closed' };

export interface AppealRepository {
  /** Opens an appeal for a persona in any state and its person (event, audit); null when no persona has the id. */
  open(personaId: string, statement: string, audit: Omit<AuditEntry, 'target'>): Promise<Appeal | null>;
  /**
   * Resolves an open appeal, applying any accountability changes with it, in one transaction.
   * Only an open appeal is resolved, so two moderators resolving at once cannot both succeed.
   */
  resolve(
    id: string,
    outcome: { readonly status: AppealOutcome; readonly resolution: string; readonly at: Date },
    changes: AccountabilityChanges | null,
    audit: Omit<AuditEntry, 'target'>,
  ): Promise<ResolveAppealResult>;
  list(filter: { readonly status?: AppealStatus; readonly limit: number }): Promise<Appeal[]>;
}

/** The appeal's global columns; its statement lives in the person's territory (AppealStatementStore). */
export const APPEAL_COLUMNS = ['id', 'persona_id', 'accountability_profile_id', 'status', 'resolution', 'opened_at', 'resolved_at'] as const;

type AppealRow = {
  id: string;
  persona_id: string | null;
  accountability_profile_id: string;
  status: AppealStatus;
  resolution: string | null;
  opened_at: Date;
  resolved_at: Date | null;
};

export const toAppeal = (row: AppealRow, statement: string | null): Appeal => ({
  id: row.id,
  personaId: row.persona_id,
  accountabilityProfileId: row.accountability_profile_id,
  status: row.status,
  statement,
  resolution: row.resolution,
  openedAt: row.opened_at.toISOString(),
  resolvedAt: row.resolved_at ? row.resolved_at.toISOString() : null,
});

/** Appeal rows with their statements, read from each person's territory. */
export async function withStatements(statements: AppealStatementStore, rows: readonly AppealRow[], trx?: Tx): Promise<Appeal[]> {
  const found = await statements.read(rows.map((row) => ({ id: row.id, profileId: row.accountability_profile_id })), trx);
  return rows.map((row) => toAppeal(row, found.get(row.id) ?? null));
}

export function createAppealRepository(db: Db, statements: AppealStatementStore): AppealRepository {
  return {
    open: (personaId, statement, audit) =>
      crossDatabaseTransaction(db, async (trx) => {
        const persona = await trx.selectFrom('personas').select('accountability_profile_id').where('id', '=', personaId).executeTakeFirst();
        if (!persona) return null;
        const row = await trx
          .insertInto('appeals')
          .values({ persona_id: personaId, accountability_profile_id: persona.accountability_profile_id })
          .returning(APPEAL_COLUMNS)
          .executeTakeFirstOrThrow();
        await appendEvent(trx, {
          type: 'AppealOpened',
          payload: { appealId: row.id, personaId, accountabilityProfileId: row.accountability_profile_id },
        });
        await appendAudit(trx, { ...audit, target: `appeal:${row.id}`, detail: { ...audit.detail, personaId } });
        // Last: a remote territory commits on its own, so nothing that could still fail comes after.
        await statements.write(trx, { id: row.id, profileId: row.accountability_profile_id }, statement);
        return toAppeal(row, statement);
      }),

    resolve: (id, outcome, changes, audit) =>
      db.transaction().execute(async (trx): Promise<ResolveAppealResult> => {
        const row = await trx
          .updateTable('appeals')
          .set({ status: outcome.status, resolution: outcome.resolution, resolved_at: outcome.at })
          .where('id', '=', id)
          .where('status', '=', 'open')
          .returning(APPEAL_COLUMNS)
          .executeTakeFirst();
        if (!row) {
          const exists = await trx.selectFrom('appeals').select('id').where('id', '=', id).executeTakeFirst();
          return { resolved: false, reason: exists ? 'closed' : 'not-found' };
        }
        const accountability = changes ? await applyAccountabilityChanges(trx, row.accountability_profile_id, changes) : null;
        await appendEvent(trx, { type: 'AppealResolved', payload: { appealId: id, status: outcome.status } });
        if (accountability && changes) {
          await appendEvent(trx, {
            type: 'AccountabilityChanged',
            payload: { accountabilityProfileId: row.accountability_profile_id, changes: { ...changes } },
          });
        }
        await appendAudit(trx, { ...audit, target: `appeal:${id}`, detail: { ...audit.detail, status: outcome.status, ...changes } });
        const statement = (await statements.read([{ id, profileId: row.accountability_profile_id }], trx)).get(id) ?? null;
        return { resolved: true, appeal: toAppeal(row, statement), accountability };
      }),

    async list({ status, limit }) {
      let query = db.selectFrom('appeals').select(APPEAL_COLUMNS);
      if (status) query = query.where('status', '=', status);
      const rows = await query.orderBy('opened_at').orderBy('id').limit(limit).execute();
      return withStatements(statements, rows);
    },
  };
}

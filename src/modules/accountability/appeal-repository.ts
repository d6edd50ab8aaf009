import type { Db } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import { appendAudit, type AuditEntry } from '../audit/audit-repository.js';
import type { AccountabilityChanges, AccountabilitySummary } from './accountability.js';
import { applyAccountabilityChanges } from './profile-repository.js';
import type { Appeal, AppealOutcome, AppealStatus } from './appeal.js';

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

export const APPEAL_COLUMNS = [
  'id', 'persona_id', 'accountability_profile_id', 'status', 'statement', 'resolution', 'opened_at', 'resolved_at',
] as const;

type AppealRow = {
  id: string;
  persona_id: string | null;
  accountability_profile_id: string;
  status: AppealStatus;
  statement: string;
  resolution: string | null;
  opened_at: Date;
  resolved_at: Date | null;
};

export const toAppeal = (row: AppealRow): Appeal => ({
  id: row.id,
  personaId: row.persona_id,
  accountabilityProfileId: row.accountability_profile_id,
  status: row.status,
  statement: row.statement,
  resolution: row.resolution,
  openedAt: row.opened_at.toISOString(),
  resolvedAt: row.resolved_at ? row.resolved_at.toISOString() : null,
});

export function createAppealRepository(db: Db): AppealRepository {
  return {
    open: (personaId, statement, audit) =>
      db.transaction().execute(async (trx) => {
        const persona = await trx.selectFrom('personas').select('accountability_profile_id').where('id', '=', personaId).executeTakeFirst();
        if (!persona) return null;
        const row = await trx
          .insertInto('appeals')
          .values({ persona_id: personaId, accountability_profile_id: persona.accountability_profile_id, statement })
          .returning(APPEAL_COLUMNS)
          .executeTakeFirstOrThrow();
        await appendEvent(trx, {
          type: 'AppealOpened',
          payload: { appealId: row.id, personaId, accountabilityProfileId: row.accountability_profile_id },
        });
        await appendAudit(trx, { ...audit, target: `appeal:${row.id}`, detail: { ...audit.detail, personaId } });
        return toAppeal(row);
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
        return { resolved: true, appeal: toAppeal(row), accountability };
      }),

    async list({ status, limit }) {
      let query = db.selectFrom('appeals').select(APPEAL_COLUMNS);
      if (status) query = query.where('status', '=', status);
      const rows = await query.orderBy('opened_at').orderBy('id').limit(limit).execute();
      return rows.map(toAppeal);
    },
  };
}

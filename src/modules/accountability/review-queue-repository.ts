import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { AccountabilitySummary, RiskLevel } from './accountability.js';
import { PROFILE_COLUMNS, toAccountability } from './profile-repository.js';

/** A flag as the review queue shows it: the flag, the persona it is on, and where its person stands now. */
export interface FlagQueueItem {
  readonly id: string;
  readonly personaId: string;
  readonly reason: string;
  readonly actor: string;
  readonly createdAt: string;
  readonly displayName: string;
  readonly accountabilityProfileId: string;
  readonly personaActive: boolean;
  readonly riskLevel: RiskLevel;
  readonly banned: boolean;
}

export interface ReviewQueueRepository {
  /** Flags newest first; after the flag `afterId` when given (the next page). */
  recentFlags(options: { readonly limit: number; readonly afterId?: string }): Promise<FlagQueueItem[]>;
  /** People under a legal hold, oldest profile first (a stable order). */
  legalHolds(options: { readonly limit: number }): Promise<AccountabilitySummary[]>;
}

/** The trust & safety work lists: read-only queries across people (no audit row: nobody is unmasked by a list). */
export function createReviewQueueRepository(db: Db): ReviewQueueRepository {
  return {
    async recentFlags({ limit, afterId }) {
      let query = db
        .selectFrom('persona_flags as f')
        .innerJoin('personas as p', 'p.id', 'f.persona_id')
        .innerJoin('accountability_profiles as a', 'a.id', 'p.accountability_profile_id')
        .select(['f.id', 'f.persona_id', 'f.reason', 'f.actor', 'f.created_at'])
        .select(['p.display_name', 'p.accountability_profile_id', 'p.is_active', 'p.deleted_at', 'a.risk_level', 'a.banned_at']);
      // Keyset on (time, id): a page boundary between two flags of the same instant loses neither. A
      // timestamp cursor alone would not do: the API's milliseconds are coarser than the column's microseconds.
      if (afterId) query = query.where(sql<boolean>`(f.created_at, f.id) < (select created_at, id from persona_flags where id = ${afterId})`);
      const rows = await query.orderBy('f.created_at', 'desc').orderBy('f.id', 'desc').limit(limit).execute();
      return rows.map((row) => ({
        id: row.id,
        personaId: row.persona_id,
        reason: row.reason,
        actor: row.actor,
        createdAt: row.created_at.toISOString(),
        displayName: row.display_name,
        accountabilityProfileId: row.accountability_profile_id,
        personaActive: row.is_active && row.deleted_at === null,
        riskLevel: row.risk_level,
        banned: row.banned_at !== null,
      }));
    },

    async legalHolds({ limit }) {
      // No "placed at" column: the hold's time is in the audit log; the profile's age orders the list stably.
      const rows = await db
        .selectFrom('accountability_profiles')
        .select(PROFILE_COLUMNS)
        .where('legal_hold', '=', true)
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toAccountability);
    },
  };
}

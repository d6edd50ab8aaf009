import type { Db, Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import { appendAudit } from '../audit/audit-repository.js';
import type { Citizenship } from './citizenship.js';
import { liveCitizenships, lockPerson } from './move-repository.js';

export type EndResult = 'ended' | 'not-found' | 'primary';

export interface CitizenshipRepository {
  /** The person's live citizenships; the default territory, implicit, when they have no primary one. */
  list(accountabilityProfileId: string): Promise<Citizenship[]>;
  /**
   * Ends a secondary citizenship: `retire` clears the person's rows in that territory first (given
   * the transaction, so a territory in the global database commits with it), then the row ends,
   * audited, with CitizenshipEnded.
   */
  end(accountabilityProfileId: string, code: string, correlationId: string, now: Date, retire: (trx: Tx, userId: string) => Promise<void>): Promise<EndResult>;
}

export function createCitizenshipRepository(db: Db): CitizenshipRepository {
  const defaultTerritory = (trx: Tx | Db) => trx.selectFrom('territories').select(['code', 'name']).where('is_default', '=', true).executeTakeFirstOrThrow();

  return {
    async list(accountabilityProfileId) {
      const rows = await db
        .selectFrom('citizenships as c')
        .innerJoin('territories as t', 't.code', 'c.territory_code')
        .select(['t.code', 't.name', 'c.is_primary', 'c.started_at'])
        .where('c.accountability_profile_id', '=', accountabilityProfileId)
        .where('c.ended_at', 'is', null)
        .orderBy('c.is_primary', 'desc')
        .orderBy('c.started_at')
        .execute();
      const citizenships = rows.map((row): Citizenship => ({ territory: { code: row.code, name: row.name }, primary: row.is_primary, since: row.started_at }));
      if (citizenships.some((citizenship) => citizenship.primary)) return citizenships;
      // Never moved: the person has lived in the default territory since they first appeared.
      const [home, profile] = await Promise.all([
        defaultTerritory(db),
        db.selectFrom('accountability_profiles').select('created_at').where('id', '=', accountabilityProfileId).executeTakeFirstOrThrow(),
      ]);
      return [{ territory: home, primary: true, since: profile.created_at }, ...citizenships];
    },

    async end(accountabilityProfileId, code, correlationId, now, retire) {
      return db.transaction().execute(async (trx) => {
        await lockPerson(trx, accountabilityProfileId);
        const live = await liveCitizenships(trx, accountabilityProfileId);
        const citizenship = live.find((row) => row.territory_code === code);
        if (!citizenship) {
          const implicitHome = !live.some((row) => row.is_primary) && (await defaultTerritory(trx)).code === code;
          return implicitHome ? 'primary' : 'not-found';
        }
        if (citizenship.is_primary) return 'primary';
        // The territory's rows go first: if the global commit then fails, the person still holds the
        // citizenship and can end it again; the other order could strand rows nobody would clear.
        await retire(trx, citizenship.territory_user_id);
        await trx.updateTable('citizenships').set({ ended_at: now }).where('id', '=', citizenship.id).execute();
        await appendAudit(trx, { actor: 'person', correlationId, action: 'citizenship.end', target: code });
        await appendEvent(trx, { type: 'CitizenshipEnded', payload: { accountabilityProfileId, territory: code } });
        return 'ended';
      });
    },
  };
}

/** A new person's first citizenship, made primary at registration (inside its transaction). */
export async function insertPrimaryCitizenship(trx: Tx, accountabilityProfileId: string, territoryCode: string, territoryUserId: string): Promise<void> {
  await trx.insertInto('citizenships').values({ accountability_profile_id: accountabilityProfileId, territory_code: territoryCode, territory_user_id: territoryUserId, is_primary: true }).execute();
}

import type { Db } from '../../db/database.js';
import type { AccountSecretStore } from '../accounts/account-secret-repository.js';
import { appendEvent } from '../../events/outbox.js';

export interface PurgeRepository {
  /** Personas due at `now` whose purge nothing stops (legal hold, open appeal), oldest due first. */
  dueIds(now: Date, limit: number): Promise<string[]>;
  /**
   * Hard-deletes one persona with its PersonaPurged event, if it is still due and unblocked when
   * locked; false when it no longer qualifies or another purger (another node) has it.
   */
  purge(personaId: string, now: Date): Promise<boolean>;
  /** Forgets display-name holds whose reuse window has passed. */
  dropExpiredHolds(now: Date): Promise<number>;
  /**
   * Forgets the retired methods of deleted people once nothing is left of them (every persona
   * purged, no account) and they carry no mark: nothing remains for a ban to reach.
   */
  dropSpentRetiredMethods(): Promise<number>;
}

/** `secrets`: the persona's session-wallet key lives in its person's territory, out of a cascade's reach. */
export function createPurgeRepository(db: Db, secrets: Pick<AccountSecretStore, 'eraseWalletKey'>): PurgeRepository {
  return {
    async dueIds(now, limit) {
      const rows = await db
        .selectFrom('personas as p')
        .innerJoin('accountability_profiles as ap', 'ap.id', 'p.accountability_profile_id')
        .select('p.id')
        .where('p.purge_after', '<=', now)
        .where('ap.legal_hold', '=', false)
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('appeals as a').select('a.id').whereRef('a.persona_id', '=', 'p.id').where('a.status', '=', 'open'))),
        )
        .orderBy('p.purge_after')
        .limit(limit)
        .execute();
      return rows.map((row) => row.id);
    },

    purge: (personaId, now) =>
      db.transaction().execute(async (trx) => {
        const owner = await trx.selectFrom('personas').select('accountability_profile_id').where('id', '=', personaId).executeTakeFirst();
        if (!owner) return false;
        // Same lock order as the persona use cases (person, then persona), so the two never deadlock.
        // A legal hold being placed right now (an UPDATE of this row) is waited for and seen. NO KEY
        // UPDATE, the lock the wallet key's removal below takes anyway (territoryForWrite): two purges
        // of one person's personas wait for each other here instead of both holding a share to upgrade.
        const person = await trx
          .selectFrom('accountability_profiles')
          .select('legal_hold')
          .where('id', '=', owner.accountability_profile_id)
          .forNoKeyUpdate()
          .executeTakeFirst();
        if (!person || person.legal_hold) return false;
        // Locking the persona also waits out an appeal being filed on it (its foreign key locks the row).
        const persona = await trx
          .selectFrom('personas')
          .select('purge_after')
          .where('id', '=', personaId)
          .forUpdate()
          .skipLocked()
          .executeTakeFirst();
        if (!persona?.purge_after || persona.purge_after > now) return false;
        const appeal = await trx
          .selectFrom('appeals')
          .select('id')
          .where('persona_id', '=', personaId)
          .where('status', '=', 'open')
          .executeTakeFirst();
        if (appeal) return false;
        await trx.deleteFrom('personas').where('id', '=', personaId).execute();
        await appendEvent(trx, { type: 'PersonaPurged', payload: { personaId } });
        // Last: a remote territory commits on its own (a removal, safe either way).
        await secrets.eraseWalletKey(trx, { personaId, profileId: owner.accountability_profile_id });
        return true;
      }),

    async dropExpiredHolds(now) {
      const result = await db.deleteFrom('display_name_holds').where('held_until', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async dropSpentRetiredMethods() {
      const result = await db
        .deleteFrom('retired_methods')
        .where('accountability_profile_id', 'in', (eb) =>
          eb
            .selectFrom('accountability_profiles as ap')
            .select('ap.id')
            .where('ap.banned_at', 'is', null)
            .where('ap.risk_level', '=', 'LOW')
            .where('ap.abuse_score', '=', 0)
            .where('ap.legal_hold', '=', false)
            .where(({ not, exists, selectFrom }) =>
              not(exists(selectFrom('personas as p').select('p.id').whereRef('p.accountability_profile_id', '=', 'ap.id'))),
            )
            .where(({ not, exists, selectFrom }) =>
              not(exists(selectFrom('accounts as a').select('a.id').whereRef('a.accountability_profile_id', '=', 'ap.id'))),
            ),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

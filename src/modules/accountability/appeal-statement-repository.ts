import type { Db, Tx } from '../../db/database.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import { territoryForWrite } from '../citizenships/territory-for-write.js';

/** An appeal, as far as finding its statement goes: its id and whose it is. */
export interface AppealOwner {
  readonly id: string;
  readonly profileId: string;
}

/**
 * Appeal statements — the person's own words — kept in the person's current territory
 * (`appeal_statements`, DESIGN.md §2b residency); the appeal's state stays global, where trust &
 * safety's queue reads it. Moves copy them and identity erasure deletes them (TABLE_RULES).
 *
 * Writes take the caller's global transaction and come last in it: a territory in the global
 * database joins it, a remote one commits on its own at once (see AccountSecretStore).
 */
export interface AppealStatementStore {
  write(trx: Tx, appeal: AppealOwner, statement: string): Promise<void>;
  /**
   * The statements of these appeals, by appeal id, each read from its person's current territory:
   * one query per territory, however many appeals. An appeal whose person's data was erased has none.
   */
  read(appeals: readonly AppealOwner[], trx?: Tx): Promise<ReadonlyMap<string, string>>;
  /**
   * Merging people (`fromId` into `intoId`, inside the merge's transaction, as its last writes): the
   * statements become `intoId`'s and move to `intoId`'s territory. On a remote territory each step
   * commits at once and is taken back should the merge not commit (see crossDatabaseTransaction).
   */
  rehome(trx: Tx, fromId: string, intoId: string): Promise<void>;
}

/** Each person's current territory (primary citizenship, else the default), in one query. */
async function territoriesOf(db: Db | Tx, profileIds: readonly string[]): Promise<ReadonlyMap<string, string>> {
  const fallback = await db.selectFrom('territories').select('code').where('is_default', '=', true).executeTakeFirstOrThrow();
  const found = new Map(profileIds.map((id) => [id, fallback.code]));
  if (profileIds.length === 0) return found;
  const primary = await db
    .selectFrom('citizenships')
    .select(['accountability_profile_id as profileId', 'territory_code as code'])
    .where('accountability_profile_id', 'in', [...profileIds])
    .where('is_primary', '=', true)
    .where('ended_at', 'is', null)
    .execute();
  for (const row of primary) found.set(row.profileId, row.code);
  return found;
}

export function createAppealStatementStore(db: Db, territories: TerritoryDatabases): AppealStatementStore {
  return {
    async write(trx, appeal, statement) {
      const code = await territoryForWrite(trx, appeal.profileId);
      await territories.of(code, trx).insertInto('appeal_statements').values({ appeal_id: appeal.id, accountability_profile_id: appeal.profileId, statement }).execute();
      territories.undoIfAborted(code, trx, (remote) => remote.deleteFrom('appeal_statements').where('appeal_id', '=', appeal.id).execute());
    },

    async read(appeals, trx) {
      const statements = new Map<string, string>();
      const homes = await territoriesOf(trx ?? db, [...new Set(appeals.map((appeal) => appeal.profileId))]);
      const byTerritory = new Map<string, string[]>();
      for (const appeal of appeals) {
        const code = homes.get(appeal.profileId)!;
        byTerritory.set(code, [...(byTerritory.get(code) ?? []), appeal.id]);
      }
      for (const [code, ids] of byTerritory) {
        const rows = await territories.of(code, trx).selectFrom('appeal_statements').select(['appeal_id', 'statement']).where('appeal_id', 'in', ids).execute();
        for (const row of rows) statements.set(row.appeal_id, row.statement);
      }
      return statements;
    },

    async rehome(trx, fromId, intoId) {
      const from = await territoryForWrite(trx, fromId);
      const into = await territoryForWrite(trx, intoId);
      const source = territories.of(from, trx);
      const rows = await source.selectFrom('appeal_statements').selectAll().where('accountability_profile_id', '=', fromId).execute();
      if (rows.length === 0) return;
      const ids = rows.map((row) => row.appeal_id);
      // Each step on a remote territory commits at once: should the merge not commit, it is taken back.
      if (from === into) {
        await source.updateTable('appeal_statements').set({ accountability_profile_id: intoId }).where('appeal_id', 'in', ids).execute();
        territories.undoIfAborted(from, trx, (remote) => remote.updateTable('appeal_statements').set({ accountability_profile_id: fromId }).where('appeal_id', 'in', ids).execute());
        return;
      }
      const copied = await territories
        .of(into, trx)
        .insertInto('appeal_statements')
        .values(rows.map((row) => ({ ...row, accountability_profile_id: intoId })))
        .onConflict((conflict) => conflict.column('appeal_id').doNothing())
        .returning('appeal_id')
        .execute();
      const written = copied.map((row) => row.appeal_id);
      // Only the copies this merge wrote: one already there was not its to take back.
      if (written.length > 0) territories.undoIfAborted(into, trx, (remote) => remote.deleteFrom('appeal_statements').where('appeal_id', 'in', written).execute());
      await source.deleteFrom('appeal_statements').where('appeal_id', 'in', ids).execute();
      // Runs first (undos run newest first): the statements are back with the guest before their copies go.
      territories.undoIfAborted(from, trx, (remote) => remote.insertInto('appeal_statements').values(rows).onConflict((conflict) => conflict.column('appeal_id').doNothing()).execute());
    },
  };
}

import { sql } from 'kysely';
import type { Db, Tx } from '../../db/database.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import { currentTerritoryOf } from '../handles/handle-repository.js';
import { territoryForWrite } from '../citizenships/territory-for-write.js';
import { schemaOf } from '../territories/territory.js';

/** Whose session: its account, and the person (whose current territory keeps the label). */
export interface LabelOwner {
  readonly accountId: string;
  readonly profileId: string;
}

/**
 * Session device labels ("Firefox on Linux"), kept in the person's current territory by session id
 * (DESIGN.md §2b: what describes a person's devices is theirs). Resolving a session never reads them:
 * the hot path stays one global read; only the session list does, with one territory read per list.
 */
export interface SessionLabelStore {
  /**
   * Labels a new session, inside the transaction that creates it. A territory in the global database
   * joins it; a remote one commits at once, so should the global part fail after, the label is
   * deleted again (see crossDatabaseTransaction; a crash in between leaves a label of a session that
   * never existed: unreachable, since the list starts at live global sessions, and swept).
   */
  label(trx: Tx, owner: LabelOwner, sessionId: string, label: string): Promise<void>;
  /** The labels of these sessions of the person, by session id. */
  labelsOf(profileId: string, sessionIds: readonly string[]): Promise<ReadonlyMap<string, string>>;
  /**
   * Deletes the labels whose session has ended (signed out, revoked, expired and purged, its account
   * gone), in every territory: sessions end in many places, and none of them needs to reach a
   * territory to do so. Answers how many went.
   */
  sweep(): Promise<number>;
}

/**
 * A label younger than this is never swept: a remote territory commits it before its session's global
 * transaction does, so for a moment it has no session yet.
 */
const YOUNG = sql`interval '10 minutes'`;

/** Labels checked per round of a sweep: a territory on another server is read in pages of this many. */
const SWEEP_PAGE = 500;

export function createSessionLabelStore(db: Db, territories: TerritoryDatabases): SessionLabelStore {
  const territoryOf = async (profileId: string) => territories.of(await currentTerritoryOf(db, profileId));

  /** One territory's labels without a session: one anti-join in the global database, else page by page. */
  async function sweepTerritory(code: string): Promise<number> {
    if (territories.sharesGlobalDatabase(code)) {
      const swept = await sql`
        delete from ${sql.table(`${schemaOf(code)}.session_labels`)} l
        where l.created_at < now() - ${YOUNG} and not exists (select 1 from sessions s where s.id = l.session_id)`.execute(db);
      return Number(swept.numAffectedRows ?? 0);
    }
    const territory = territories.of(code);
    let dropped = 0;
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const page = await territory
        .selectFrom('session_labels')
        .select('session_id')
        .where('session_id', '>', after)
        .where('created_at', '<', sql<Date>`now() - ${YOUNG}`)
        .orderBy('session_id')
        .limit(SWEEP_PAGE)
        .execute();
      if (page.length === 0) return dropped;
      const ids = page.map((row) => row.session_id);
      const live = new Set((await db.selectFrom('sessions').select('id').where('id', 'in', ids).execute()).map((row) => row.id));
      const ended = ids.filter((id) => !live.has(id));
      if (ended.length > 0) dropped += Number((await territory.deleteFrom('session_labels').where('session_id', 'in', ended).executeTakeFirst()).numDeletedRows);
      after = ids[ids.length - 1]!;
    }
  }

  return {
    async label(trx, owner, sessionId, label) {
      const code = await territoryForWrite(trx, owner.profileId);
      await territories.of(code, trx).insertInto('session_labels').values({ session_id: sessionId, account_id: owner.accountId, label }).execute();
      territories.undoIfAborted(code, trx, (remote) => remote.deleteFrom('session_labels').where('session_id', '=', sessionId).execute());
    },

    async labelsOf(profileId, sessionIds) {
      if (sessionIds.length === 0) return new Map();
      const rows = await (await territoryOf(profileId))
        .selectFrom('session_labels')
        .select(['session_id', 'label'])
        .where('session_id', 'in', [...sessionIds])
        .execute();
      return new Map(rows.map((row) => [row.session_id, row.label]));
    },

    async sweep() {
      const codes = await db.selectFrom('territories').select('code').execute();
      let dropped = 0;
      for (const { code } of codes) dropped += await sweepTerritory(code);
      return dropped;
    },
  };
}

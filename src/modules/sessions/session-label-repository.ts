import type { Db, Tx } from '../../db/database.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import { currentTerritoryOf } from '../handles/handle-repository.js';
import { territoryForWrite } from '../citizenships/territory-for-write.js';

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
   * never existed: unreachable, since the list starts at live global sessions). Ending a session
   * touches no territory: the orphan sweep (src/modules/orphans) deletes the labels of ended sessions.
   */
  label(trx: Tx, owner: LabelOwner, sessionId: string, label: string): Promise<void>;
  /** The labels of these sessions of the person, by session id. */
  labelsOf(profileId: string, sessionIds: readonly string[]): Promise<ReadonlyMap<string, string>>;
}

export function createSessionLabelStore(db: Db, territories: TerritoryDatabases): SessionLabelStore {
  const territoryOf = async (profileId: string) => territories.of(await currentTerritoryOf(db, profileId));

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
  };
}

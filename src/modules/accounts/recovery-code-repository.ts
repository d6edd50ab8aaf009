import { sql } from 'kysely';
import type { Db, Tx } from '../../db/database.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import { currentTerritoryOf } from '../handles/handle-repository.js';
import { territoryForWrite } from '../citizenships/territory-for-write.js';

/** Whose codes: the account they open, and its person (whose current territory keeps them). */
export interface RecoveryCodeOwner {
  readonly accountId: string;
  readonly profileId: string;
}

/**
 * The recovery codes of handle accounts, as keyed hashes in the person's current territory
 * (`territory_<code>.recovery_codes`: personal data stays in its region). Each write joins the
 * caller's transaction when the territory lives in the global database; a remote territory's
 * commits on its own. A replaced set comes back should the global part fail after it (see
 * crossDatabaseTransaction); a consumed code does not, which is safe that way round (a code consumed
 * by a recovery that then failed is one code fewer, never one more).
 */
export interface RecoveryCodeStore {
  /** The account's codes become exactly these: the old ones, used or not, stop working. */
  replace(trx: Tx, owner: RecoveryCodeOwner, hashes: readonly Buffer[]): Promise<void>;
  /** Marks one unused code used; true for the one caller that did (one conditional UPDATE). */
  consume(trx: Tx, owner: RecoveryCodeOwner, hash: Buffer): Promise<boolean>;
  /** How many unused codes the account has left. */
  remaining(owner: RecoveryCodeOwner): Promise<number>;
}

export function createRecoveryCodeStore(db: Db, territories: TerritoryDatabases): RecoveryCodeStore {
  /** Writes lock the person first (see territoryForWrite): a move switching meanwhile carries them. */
  const writable = async (trx: Tx, owner: RecoveryCodeOwner) => {
    const code = await territoryForWrite(trx, owner.profileId);
    return { code, territory: territories.of(code, trx) };
  };

  return {
    async replace(trx, owner, hashes) {
      const { code, territory } = await writable(trx, owner);
      // A remote territory commits at once: should the global part fail, the previous codes come back.
      const previous = territories.sharesGlobalDatabase(code) ? [] : await territory.selectFrom('recovery_codes').selectAll().where('account_id', '=', owner.accountId).execute();
      await territory.deleteFrom('recovery_codes').where('account_id', '=', owner.accountId).execute();
      if (hashes.length > 0) {
        await territory
          .insertInto('recovery_codes')
          .values(hashes.map((hash) => ({ account_id: owner.accountId, code_hash: hash })))
          .execute();
      }
      territories.undoIfAborted(code, trx, async (remote) => {
        await remote.deleteFrom('recovery_codes').where('account_id', '=', owner.accountId).execute();
        if (previous.length > 0) await remote.insertInto('recovery_codes').values(previous).execute();
      });
    },

    async consume(trx, owner, hash) {
      // The check and the write are one statement: of any number of parallel uses of one code, the
      // first to update the row wins, and the others re-read it used (PostgreSQL's row lock).
      const used = await (await writable(trx, owner)).territory
        .updateTable('recovery_codes')
        .set({ used_at: sql<Date>`now()` })
        .where('account_id', '=', owner.accountId)
        .where('code_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(used.numUpdatedRows) === 1;
    },

    async remaining(owner) {
      return db.transaction().execute(async (trx) => {
        const row = await territories
          .of(await currentTerritoryOf(trx, owner.profileId), trx)
          .selectFrom('recovery_codes')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('account_id', '=', owner.accountId)
          .where('used_at', 'is', null)
          .executeTakeFirstOrThrow();
        return Number(row.n);
      });
    },
  };
}

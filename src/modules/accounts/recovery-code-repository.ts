import { sql } from 'kysely';
import type { Db, Tx } from '../../db/database.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import { currentTerritoryOf } from '../handles/handle-repository.js';

/** Whose codes: the account they open, and its person (whose current territory keeps them). */
export interface RecoveryCodeOwner {
  readonly accountId: string;
  readonly profileId: string;
}

/**
 * The recovery codes of handle accounts, as keyed hashes in the person's current territory
 * (`territory_<code>.recovery_codes`: personal data stays in its region). Each write joins the
 * caller's transaction when the territory lives in the global database; a remote territory's
 * commits on its own, and every step is safe that way round (a code consumed by a recovery that
 * then failed is one code fewer, never one more).
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
  const schemaOf = async (trx: Tx, owner: RecoveryCodeOwner) => territories.of(await currentTerritoryOf(trx, owner.profileId), trx);

  return {
    async replace(trx, owner, hashes) {
      const territory = await schemaOf(trx, owner);
      await territory.deleteFrom('recovery_codes').where('account_id', '=', owner.accountId).execute();
      if (hashes.length === 0) return;
      await territory
        .insertInto('recovery_codes')
        .values(hashes.map((hash) => ({ account_id: owner.accountId, code_hash: hash })))
        .execute();
    },

    async consume(trx, owner, hash) {
      // The check and the write are one statement: of any number of parallel uses of one code, the
      // first to update the row wins, and the others re-read it used (PostgreSQL's row lock).
      const used = await (await schemaOf(trx, owner))
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
        const row = await (await schemaOf(trx, owner))
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

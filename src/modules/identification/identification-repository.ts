import { afterCommit } from '../../db/cross-database-transaction.js';
import type { Db, Tx } from '../../db/database.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import { currentTerritoryOf } from '../handles/handle-repository.js';
import type { IdentityLinkRekey } from './identification-rekey.js';

/**
 * Where a browser's voluntary identification lives (spec 000, DESIGN.md §2b residency). The sealed
 * payload is in a territory schema (`sealed_identity_links`); the global `identity_links` keeps
 * only its lookup key and which territory holds it. Neither names an owner: the lookup key is
 * derived from the browser's token, which the server never stores.
 *
 * So no move or erasure can find the row by person. It follows the browser instead: whenever the
 * token is presented (stored, read, rotated at sign-in), the row is put in the territory of whoever
 * the browser acts as (`home`: the signed-in person, else the guest), leaving the old territory.
 * A browser acting as nobody (signed out, no guest) moves nothing: its row stays where it is, and a
 * new one goes to the default territory, where every person without a citizenship lives.
 *
 * Territory writes come after the global ones in a transaction: a territory in the global database
 * joins it, a remote one commits on its own at once (see AccountSecretStore). The old copy leaves a
 * territory in the global database inside the transaction; a remote one's only after the global
 * commit, so a failed commit never loses the row (at worst a crash in between leaves a copy nothing
 * points to, sealed under a key only the browser's token derives).
 */
export interface IdentificationRepository {
  /** One link per token: storing again replaces it. */
  put(lookupKey: Buffer, sealed: Buffer, home: string | null): Promise<void>;
  /** The sealed row, moved first to `home`'s territory when it is elsewhere. */
  find(lookupKey: Buffer, home: string | null): Promise<Buffer | null>;
  /** A real DELETE, wherever the row is; true when a row was there. */
  remove(lookupKey: Buffer): Promise<boolean>;
  /**
   * Inside the caller's transaction (a sign-in that rotates the anonymous token), as its last
   * write: takes the row from under the old token's key and puts it, re-sealed, under the new one,
   * in `home`'s territory. Deleting the global row first claims it, so two rotations racing cannot
   * both move it. A row the old token's key cannot open was unreadable to everyone already, and is
   * not carried over. True when a row moved.
   *
   * With a remote territory this cannot be atomic: its writes commit at once. So the new row is
   * deleted again should the global transaction fail, and the old copy leaves a remote territory
   * only once it has committed (see crossDatabaseTransaction): a failed sign-in leaves the row under
   * the old token, readable, and a crash right after the commit at worst an old copy nothing points to.
   */
  rotate(trx: Tx, rekey: IdentityLinkRekey, home: string): Promise<boolean>;
}

export function createIdentificationRepository(db: Db, territories: TerritoryDatabases): IdentificationRepository {
  const territoryOf = async (trx: Db | Tx, home: string | null): Promise<string> => {
    if (home !== null) return currentTerritoryOf(trx, home);
    const fallback = await trx.selectFrom('territories').select('code').where('is_default', '=', true).executeTakeFirstOrThrow();
    return fallback.code;
  };

  /** Removes a copy: now when its territory shares the transaction, else after the commit (`later`). */
  const dropCopy = async (trx: Tx, code: string, lookupKey: Buffer, later: Array<() => Promise<unknown>>) => {
    const remove = (on?: Tx) => territories.of(code, on).deleteFrom('sealed_identity_links').where('lookup_key', '=', lookupKey).execute();
    if (territories.sharesGlobalDatabase(code)) await remove(trx);
    else later.push(() => remove());
  };

  /** Writes the row into `code` and points the global row there, dropping any copy elsewhere. */
  async function place(lookupKey: Buffer, sealed: Buffer, code: string, previous: string | null, trx: Tx, later: Array<() => Promise<unknown>>) {
    await trx
      .insertInto('identity_links')
      .values({ lookup_key: lookupKey, territory_code: code })
      .onConflict((conflict) => conflict.column('lookup_key').doUpdateSet({ territory_code: code }))
      .execute();
    await territories
      .of(code, trx)
      .insertInto('sealed_identity_links')
      .values({ lookup_key: lookupKey, sealed })
      .onConflict((conflict) => conflict.column('lookup_key').doUpdateSet({ sealed }))
      .execute();
    if (previous !== null && previous !== code) await dropCopy(trx, previous, lookupKey, later);
  }

  /** A transaction, then the removals that had to wait for its commit. */
  async function withLater<T>(work: (trx: Tx, later: Array<() => Promise<unknown>>) => Promise<T>): Promise<T> {
    const later: Array<() => Promise<unknown>> = [];
    const result = await db.transaction().execute((trx) => work(trx, later));
    for (const task of later) await task();
    return result;
  }

  const pointerOf = async (trx: Db | Tx, lookupKey: Buffer, lock = false) => {
    let query = trx.selectFrom('identity_links').select('territory_code').where('lookup_key', '=', lookupKey);
    if (lock) query = query.forUpdate();
    return (await query.executeTakeFirst())?.territory_code ?? null;
  };

  const sealedIn = async (code: string, lookupKey: Buffer, trx?: Tx) => {
    const row = await territories.of(code, trx).selectFrom('sealed_identity_links').select('sealed').where('lookup_key', '=', lookupKey).executeTakeFirst();
    // PGlite returns bytea as a Uint8Array, node-postgres as a Buffer: hand back one type.
    return row ? Buffer.from(row.sealed) : null;
  };

  return {
    put: (lookupKey, sealed, home) =>
      withLater(async (trx, later) => {
        const previous = await pointerOf(trx, lookupKey, true);
        const target = home === null && previous !== null ? previous : await territoryOf(trx, home);
        await place(lookupKey, sealed, target, previous, trx, later);
      }),

    async find(lookupKey, home) {
      const where = await pointerOf(db, lookupKey);
      if (where === null) return null;
      const target = home === null ? where : await territoryOf(db, home);
      if (target === where) return sealedIn(where, lookupKey);
      // The browser now acts as someone living elsewhere (or its person moved): the row follows.
      return withLater(async (trx, later) => {
        const current = await pointerOf(trx, lookupKey, true);
        if (current === null) return null;
        const sealed = await sealedIn(current, lookupKey, trx);
        if (sealed && current !== target) await place(lookupKey, sealed, target, current, trx, later);
        return sealed;
      });
    },

    remove: (lookupKey) =>
      withLater(async (trx, later) => {
        const taken = await trx.deleteFrom('identity_links').where('lookup_key', '=', lookupKey).returning('territory_code').executeTakeFirst();
        if (!taken) return false;
        await dropCopy(trx, taken.territory_code, lookupKey, later);
        return true;
      }),

    async rotate(trx, rekey, home) {
      const taken = await trx.deleteFrom('identity_links').where('lookup_key', '=', rekey.oldLookupKey).returning('territory_code').executeTakeFirst();
      if (!taken) return false;
      const old = await sealedIn(taken.territory_code, rekey.oldLookupKey, trx);
      const moved = old ? rekey.reseal(old) : null;
      if (moved) {
        const code = await territoryOf(trx, home);
        await place(moved.lookupKey, moved.sealed, code, null, trx, []);
        territories.undoIfAborted(code, trx, (remote) => remote.deleteFrom('sealed_identity_links').where('lookup_key', '=', moved.lookupKey).execute());
      }
      const dropOld = (on?: Tx) => territories.of(taken.territory_code, on).deleteFrom('sealed_identity_links').where('lookup_key', '=', rekey.oldLookupKey).execute();
      if (territories.sharesGlobalDatabase(taken.territory_code)) await dropOld(trx);
      else await afterCommit(trx, () => dropOld());
      return moved !== null;
    },
  };
}

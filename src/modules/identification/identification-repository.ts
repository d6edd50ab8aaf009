import type { Db, Tx } from '../../db/database.js';
import type { IdentityLinkRekey } from './identification-rekey.js';

export interface IdentificationRepository {
  /** One link per token: storing again replaces it. */
  put(lookupKey: Buffer, sealed: Buffer): Promise<void>;
  find(lookupKey: Buffer): Promise<Buffer | null>;
  /** A real DELETE; true when a row was there. */
  remove(lookupKey: Buffer): Promise<boolean>;
}

export function createIdentificationRepository(db: Db): IdentificationRepository {
  return {
    async put(lookupKey, sealed) {
      await db
        .insertInto('identity_links')
        .values({ lookup_key: lookupKey, sealed })
        .onConflict((conflict) => conflict.column('lookup_key').doUpdateSet({ sealed }))
        .execute();
    },
    async find(lookupKey) {
      const row = await db.selectFrom('identity_links').select('sealed').where('lookup_key', '=', lookupKey).executeTakeFirst();
      // PGlite returns bytea as a Uint8Array, node-postgres as a Buffer: hand back one type.
      return row ? Buffer.from(row.sealed) : null;
    },
    async remove(lookupKey) {
      const rows = await db.deleteFrom('identity_links').where('lookup_key', '=', lookupKey).returning('lookup_key').execute();
      return rows.length > 0;
    },
  };
}

/**
 * Inside the caller's transaction (a sign-in that rotates the anonymous token): takes the row from
 * under the old token's key and puts it, re-sealed, under the new one. DELETE … RETURNING claims the
 * row, so two rotations racing cannot both move it. A row the old token's key cannot open was
 * unreadable to everyone already, and is not carried over. True when a row moved.
 */
export async function moveIdentityLink(trx: Tx, rekey: IdentityLinkRekey): Promise<boolean> {
  const taken = await trx.deleteFrom('identity_links').where('lookup_key', '=', rekey.oldLookupKey).returning('sealed').executeTakeFirst();
  const moved = taken ? rekey.reseal(Buffer.from(taken.sealed)) : null;
  if (!moved) return false;
  await trx.insertInto('identity_links').values({ lookup_key: moved.lookupKey, sealed: moved.sealed }).execute();
  return true;
}

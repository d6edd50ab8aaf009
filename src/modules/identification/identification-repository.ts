import type { Db } from '../../db/database.js';

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

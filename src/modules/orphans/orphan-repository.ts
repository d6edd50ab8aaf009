import { sql, type Kysely } from 'kysely';
import type { Db } from '../../db/database.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import type { TerritoryDatabase } from '../../db/territory-schema.js';
import type { OwnedRule, OwnerTable } from './orphan-rules.js';

export type TerritoryTable = keyof TerritoryDatabase;

/** A voluntary identification row, as the sweep knows it: its key, and a digest of its sealed payload. */
export interface SealedRow {
  readonly lookupKey: Buffer;
  readonly digest: string;
}

/**
 * The Kysely side of the orphan sweep. A territory may live on another server, so nothing here joins
 * a territory table to a global one: ids are read from the territory a page at a time, and looked
 * up in the global database. The default territory, in the global database, is read the same way.
 */
export interface OrphanRepository {
  /** Every territory, the default one among them. */
  territoryCodes(): Promise<string[]>;
  /**
   * One page of the distinct global ids that rows of `table` in the territory name (`rule.column`),
   * in id order after `after`, counting only rows last written before `writtenBefore`.
   */
  namedOwners(code: string, table: TerritoryTable, rule: OwnedRule, writtenBefore: Date, after: string | null, limit: number): Promise<string[]>;
  /** Which of `ids` the global table `owner` holds. */
  existingOwners(owner: OwnerTable, ids: readonly string[]): Promise<ReadonlySet<string>>;
  /** Deletes the rows of `table` that name one of `ids` and were last written before `writtenBefore`; answers how many. */
  deleteNaming(code: string, table: TerritoryTable, rule: OwnedRule, ids: readonly string[], writtenBefore: Date): Promise<number>;
  /** One page of the territory's voluntary identification rows, in key order after `after`. */
  sealedRows(code: string, after: Buffer | null, limit: number): Promise<SealedRow[]>;
  /** Which of `keys` (as hex) the global `identity_links` points at this territory. */
  pointedHere(code: string, keys: readonly Buffer[]): Promise<ReadonlySet<string>>;
  /**
   * Deletes those of `rows` still unchanged (same digest) that nothing points at. Their global
   * pointers are locked FOR SHARE meanwhile, whichever territory they name: a browser's row being
   * moved into this territory right now (its pointer locked FOR UPDATE) is waited for and then seen
   * pointed here. A pointer being made right now comes with a freshly sealed payload, whose digest
   * differs. Answers how many went.
   */
  deleteUnpointed(code: string, rows: readonly SealedRow[]): Promise<number>;
}

const digestOf = sql<string>`encode(sha256(sealed), 'hex')`;

export function createOrphanRepository(db: Db, territories: TerritoryDatabases): OrphanRepository {
  // Tables are chosen at run time from ORPHAN_RULES, which Kysely's typed builder cannot follow.
  const of = (code: string) => territories.of(code) as unknown as Kysely<any>;

  return {
    async territoryCodes() {
      return (await db.selectFrom('territories').select('code').orderBy('code').execute()).map((row) => row.code);
    },

    async namedOwners(code, table, rule, writtenBefore, after, limit) {
      let query = of(code)
        .selectFrom(table)
        .select(rule.column)
        .distinct()
        .where(rule.writtenAt, '<', writtenBefore)
        .orderBy(rule.column)
        .limit(limit);
      if (after !== null) query = query.where(rule.column, '>', after);
      return (await query.execute()).map((row: Record<string, string>) => row[rule.column]!);
    },

    async existingOwners(owner, ids) {
      if (ids.length === 0) return new Set();
      const rows = await (db as unknown as Kysely<any>).selectFrom(owner).select('id').where('id', 'in', [...ids]).execute();
      return new Set(rows.map((row: { id: string }) => row.id));
    },

    async deleteNaming(code, table, rule, ids, writtenBefore) {
      if (ids.length === 0) return 0;
      const result = await of(code).deleteFrom(table).where(rule.column, 'in', [...ids]).where(rule.writtenAt, '<', writtenBefore).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async sealedRows(code, after, limit) {
      let query = territories.of(code).selectFrom('sealed_identity_links').select(['lookup_key', digestOf.as('digest')]).orderBy('lookup_key').limit(limit);
      if (after !== null) query = query.where('lookup_key', '>', after);
      // PGlite hands back bytea as a Uint8Array, node-postgres as a Buffer.
      return (await query.execute()).map((row) => ({ lookupKey: Buffer.from(row.lookup_key), digest: row.digest }));
    },

    async pointedHere(code, keys) {
      if (keys.length === 0) return new Set();
      const rows = await db.selectFrom('identity_links').select('lookup_key').where('lookup_key', 'in', [...keys]).where('territory_code', '=', code).execute();
      return new Set(rows.map((row) => Buffer.from(row.lookup_key).toString('hex')));
    },

    deleteUnpointed: (code, rows) =>
      db.transaction().execute(async (trx) => {
        if (rows.length === 0) return 0;
        // Every pointer of these keys, not only those naming this territory: a pointer being moved
        // here is not yet one in this snapshot, and would not be locked (nor seen) otherwise.
        const pointers = await trx
          .selectFrom('identity_links')
          .select(['lookup_key', 'territory_code'])
          .where('lookup_key', 'in', rows.map((row) => row.lookupKey))
          .forShare()
          .execute();
        const pointed = new Set(pointers.filter((pointer) => pointer.territory_code === code).map((pointer) => Buffer.from(pointer.lookup_key).toString('hex')));
        const orphans = rows.filter((row) => !pointed.has(row.lookupKey.toString('hex')));
        if (orphans.length === 0) return 0;
        // Deleted while the pointers stay locked: on a remote territory this commits at once, before the global transaction ends.
        const result = await territories
          .of(code, trx)
          .deleteFrom('sealed_identity_links')
          .where((eb) => eb.or(orphans.map((row) => eb.and([eb('lookup_key', '=', row.lookupKey), eb(digestOf, '=', row.digest)]))))
          .executeTakeFirst();
        return Number(result.numDeletedRows);
      }),
  };
}

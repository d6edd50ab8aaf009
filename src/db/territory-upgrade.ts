import { sql, type Kysely, type RawBuilder } from 'kysely';
import { schemaOf } from '../modules/territories/territory.js';

/**
 * The in-place upgrade that moves a global table of per-account rows into each person's territory
 * (0008, 0009): shared, so every such move copies, checks and refuses remote territories alike.
 */

/** A global table keyed by `account_id`, and the columns its territory twin takes. */
export interface AccountTable {
  readonly name: string;
  readonly columns: readonly string[];
}

/**
 * Rows of another shape: `source` selects the territory table `name`'s `columns` plus the owning
 * person as `owner_profile`; `key` is the territory table's primary key.
 */
export interface OwnedRows extends AccountTable {
  readonly key: string;
  readonly source: RawBuilder<unknown>;
}

const ownedRows = (table: AccountTable | OwnedRows): OwnedRows =>
  'source' in table
    ? table
    : { ...table, key: 'account_id', source: sql`select x.*, acc.accountability_profile_id as owner_profile from ${sql.table(table.name)} x join accounts acc on acc.id = x.account_id` };

/** The territory a person's rows belong in, for a row `a` of a source (as `currentTerritoryOf` decides). */
const HOME = sql`coalesce(
  (select c.territory_code from citizenships c where c.accountability_profile_id = a.owner_profile and c.is_primary and c.ended_at is null),
  (select t.code from territories t where t.is_default))`;

/**
 * Copies every row of `tables` into the schema of its person's territory (creating the territory's
 * tables with `createTables`), inside the caller's transaction, and checks each arrived. A remote
 * territory is another server, out of this transaction's reach: any row that belongs there makes the
 * upgrade refuse (the operator moves the people home first, or copies by hand) — never a silent loss.
 * The caller drops the global tables afterwards: every row has an account (foreign key), hence a
 * person and exactly one home territory, so local ones were filled and checked, remote ones refused.
 */
export async function copyIntoTerritories(
  db: Kysely<unknown>,
  migration: string,
  tables: readonly (AccountTable | OwnedRows)[],
  createTables: (db: Kysely<unknown>, schema: string) => Promise<void>,
): Promise<void> {
  const territories = (await sql<{ code: string; remote: boolean }>`select code, remote from territories order by code`.execute(db)).rows;
  for (const { code, remote } of territories) {
    const schema = schemaOf(code);
    if (remote) {
      for (const { name, source } of tables.map(ownedRows)) {
        const held = await sql<{ n: number }>`select count(*)::int as n from (${source}) a where ${HOME} = ${code}`.execute(db);
        if (held.rows[0]!.n > 0) throw new Error(`${migration}: ${held.rows[0]!.n} rows of ${name} belong to remote territory ${code}; copy them to its server first`);
      }
      continue;
    }
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    await createTables(db, schema);
    for (const { name, columns, key, source } of tables.map(ownedRows)) {
      const list = sql.join(columns.map((column) => sql.id(column)));
      const from = sql.join(columns.map((column) => sql.ref(`a.${column}`)));
      await sql`
        insert into ${sql.table(`${schema}.${name}`)} (${list})
        select ${from} from (${source}) a
        where ${HOME} = ${code}
        on conflict (${sql.id(key)}) do nothing
      `.execute(db);
      // Nothing is dropped unless every row that belongs here arrived.
      const missing = await sql<{ n: number }>`
        select count(*)::int as n from (${source}) a
        where ${HOME} = ${code} and not exists (select 1 from ${sql.table(`${schema}.${name}`)} y where ${sql.ref(`y.${key}`)} = ${sql.ref(`a.${key}`)})`.execute(db);
      if (missing.rows[0]!.n > 0) throw new Error(`${migration}: ${missing.rows[0]!.n} rows of ${name} did not arrive in ${schema}`);
    }
  }
}

/** The way back (a migration's `down`): rows of the territories in this database return to the recreated global tables. */
export async function copyBackFromTerritories(db: Kysely<unknown>, tables: readonly AccountTable[]): Promise<void> {
  const local = (await sql<{ code: string }>`select code from territories where not remote`.execute(db)).rows;
  for (const { code } of local) {
    for (const { name, columns } of tables) {
      const list = sql.join(columns.map((column) => sql.id(column)));
      const source = sql.table(`${schemaOf(code)}.${name}`);
      await sql`insert into ${sql.table(name)} (${list}) select ${list} from ${source} where account_id in (select id from accounts) on conflict do nothing`.execute(db);
      await sql`delete from ${source}`.execute(db);
    }
  }
}

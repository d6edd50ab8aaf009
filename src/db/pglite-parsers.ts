import type { PGlite } from '@electric-sql/pglite';

/**
 * PGlite 0.4 copies its table of result parsers (`{ ...this.parsers }`) for every query it answers.
 * At start it adds a parser for every array type in the database, among them the arrays of every
 * table's and view's row type: the system catalogs', information_schema's and ours, none of which a
 * query here returns. With them the table held 316 parsers (364 once migrated), and copying it cost
 * 110–120 µs a query, a quarter of a `select 1` (about 450 µs). This drops the arrays of row types
 * and keeps the rest (the built-in types, their arrays, any enum or domain): about 100 µs less per
 * query. An array of rows, should a query ever return one, would arrive as PostgreSQL's text.
 * PGlite 0.5 no longer copies the table (but ships PostgreSQL 18, whose data folders 17 cannot read).
 */
export async function dropRowArrayParsers(client: PGlite): Promise<void> {
  const { rows } = await client.query<{ oid: number }>(`
    select a.oid from pg_catalog.pg_type a join pg_catalog.pg_type e on e.oid = a.typelem
    where a.typcategory = 'A' and e.typtype = 'c'`);
  const rowArrays = new Set(rows.map((row) => String(row.oid)));
  client.parsers = Object.fromEntries(Object.entries(client.parsers).filter(([key]) => !rowArrays.has(key)));
}

import type { PGlite } from '@electric-sql/pglite';

/**
 * The element types whose arrays the service stores or computes (a column of ours, an `array_agg`):
 * their arrays keep PGlite's parser. Types of our own schemas (enums, domains) keep theirs too.
 */
const ARRAY_ELEMENT_TYPES_KEPT = [
  'bool', 'bytea', 'char', 'int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'oid', 'name', 'text', 'varchar', 'bpchar',
  'date', 'time', 'timetz', 'timestamp', 'timestamptz', 'interval', 'uuid', 'json', 'jsonb', 'inet', 'cidr',
];

/**
 * PGlite 0.4 copies its table of result parsers (`{ ...this.parsers }`) for every query it answers,
 * at about 0.3 µs an entry. At start it adds a parser for every array type in the database: 316
 * entries (364 once migrated), 110–120 µs a query, a quarter of a `select 1`. This keeps what a
 * result of ours can need, about 40 entries (about 12 µs):
 * - the entries named after JavaScript types (`string`, `date`…) go: a result names its types by OID;
 * - the arrays of row types (every table's and view's, the catalogs' too) go: no query returns one;
 * - the arrays of built-in types no table here stores go (geometric, ranges, bit strings, OID
 *   aliases, text search, snapshots, information_schema's domains). One of these, should a query
 *   ever return it, arrives as PostgreSQL's array text; `pglite-parsers.test.ts` fails when a column
 *   of ours has an array type that lost its parser.
 * PGlite 0.5 no longer copies the table (but ships PostgreSQL 18, whose data folders 17 cannot read).
 */
export async function trimResultParsers(client: PGlite): Promise<void> {
  const { rows } = await client.query<{ oid: number }>(
    `select a.oid from pg_catalog.pg_type a join pg_catalog.pg_type e on e.oid = a.typelem
    where a.typcategory = 'A' and (
      e.typtype = 'c'
      or (e.typnamespace in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) and e.typname <> all($1::text[])))`,
    [ARRAY_ELEMENT_TYPES_KEPT],
  );
  const dropped = new Set(rows.map((row) => String(row.oid)));
  // An array's parser finds its elements' parser in this table: every element type stays.
  client.parsers = Object.fromEntries(Object.entries(client.parsers).filter(([key]) => /^\d+$/.test(key) && !dropped.has(key)));
}

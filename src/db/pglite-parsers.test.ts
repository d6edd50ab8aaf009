import { PGlite } from '@electric-sql/pglite';
import { readFile } from 'node:fs/promises';
import { Kysely } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateToLatest } from './migrate.js';
import { trimResultParsers } from './pglite-parsers.js';
import type { Database } from './schema.js';

/** Every kind of value the service reads back, arrays included, as one row. */
const EVERY_KIND = `
  select true as bool, 7::int2 as int2, 42::int4 as int4, 9007199254740991::int8 as int8, 1.5::float8 as float8,
    2.25::numeric as numeric, 'text'::text as text, 'v'::varchar as varchar, 'c'::bpchar as bpchar,
    '2026-12-07T10:00:00Z'::timestamptz as timestamptz, '2026-12-07'::date as date, '1 day'::interval as interval,
    '\\x00ff'::bytea as bytea, '{"a":[1]}'::json as json, '{"a":[1]}'::jsonb as jsonb,
    '7f3c2a10-0000-4000-8000-000000000000'::uuid as uuid, '10.0.0.1'::inet as inet,
    array['a', 'b,c', null]::text[] as text_array, array[1, 2]::int4[] as int4_array, array[3]::int8[] as int8_array,
    array[1]::int2[] as int2_array, array[true, false] as bool_array, array['v']::varchar[] as varchar_array,
    array['2026-12-07T10:00:00Z'::timestamptz] as timestamptz_array, array['2026-12-07'::date] as date_array,
    array['7f3c2a10-0000-4000-8000-000000000000'::uuid] as uuid_array, array['\\x01'::bytea] as bytea_array,
    array['{"b":2}'::jsonb] as jsonb_array, array['{"b":2}'::json] as json_array, array[1.5]::float8[] as float8_array`;

/** The array types of our own schemas: table and view columns, function arguments and results. */
const OUR_ARRAY_TYPES = `
  with ours as (
    select a.atttypid as type from pg_attribute a join pg_class c on c.oid = a.attrelid
    where c.relnamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, 'pg_toast'::regnamespace)
      and c.relkind in ('r', 'v', 'm', 'p') and a.attnum > 0 and not a.attisdropped
    union
    select unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]) || p.prorettype) from pg_proc p
    where p.pronamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
  )
  select distinct t.oid, t.typname from ours join pg_type t on t.oid = ours.type where t.typcategory = 'A'`;

let client: PGlite;
beforeAll(async () => {
  // The suite's migrated template opens in under a second; without it (the suite on PostgreSQL)
  // the cluster is made and migrated here, so the check below sees every table of ours.
  const template = inject('pgliteTemplate');
  client = new PGlite(template ? { loadDataDir: new Blob([await readFile(template)]) } : {});
  await client.waitReady;
  if (!template) await migrateToLatest(new Kysely<Database>({ dialect: new PGliteDialect(client) }));
  await client.refreshArrayTypes();
});
afterAll(() => client.close());

describe("trimming PGlite's result parsers", () => {
  it('keeps every value the service reads parsed as before, with a few dozen parsers instead of hundreds', async () => {
    const before = (await client.query(EVERY_KIND)).rows[0];
    const { rows } = await client.query<{ oid: number; typname: string }>(
      `select oid, typname from pg_type where typname in ('_pg_class', '_sessions', '_point', '_text', '_int4')`,
    );
    const parsed = () => rows.filter(({ oid }) => client.parsers[oid]).map(({ typname }) => typname).sort();
    expect(parsed()).toEqual(['_int4', '_pg_class', '_point', '_sessions', '_text']);
    expect(Object.keys(client.parsers).length).toBeGreaterThan(300);

    await trimResultParsers(client);

    // Arrays of rows (a catalog's, a table of ours) and of a type no table stores go; _text and _int4 stay.
    expect(parsed()).toEqual(['_int4', '_text']);
    expect(Object.keys(client.parsers).length).toBeLessThan(50);
    const after = (await client.query(EVERY_KIND)).rows[0];
    expect(after).toEqual(before);
    expect(after).toMatchObject({
      bool: true,
      int2: 7,
      int4: 42,
      timestamptz: new Date('2026-12-07T10:00:00Z'),
      bytea: new Uint8Array([0, 255]),
      jsonb: { a: [1] },
      text_array: ['a', 'b,c', null],
      int4_array: [1, 2],
      bool_array: [true, false],
      timestamptz_array: [new Date('2026-12-07T10:00:00Z')],
      uuid_array: ['7f3c2a10-0000-4000-8000-000000000000'],
      bytea_array: [new Uint8Array([1])],
      jsonb_array: [{ b: 2 }],
    });
  });

  it('keeps the parser of every array type a table, view or function of ours uses', async () => {
    await trimResultParsers(client);
    const { rows } = await client.query<{ oid: number; typname: string }>(OUR_ARRAY_TYPES);
    expect(rows.map((row) => row.typname)).toContain('_text'); // passkey transports, webhook event types
    expect(rows.filter((row) => !client.parsers[row.oid]).map((row) => row.typname)).toEqual([]);
  });
});

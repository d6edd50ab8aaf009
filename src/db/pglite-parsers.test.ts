import { PGlite } from '@electric-sql/pglite';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dropRowArrayParsers } from './pglite-parsers.js';

/** Every kind of value the service reads back, arrays included, as one row. */
const EVERY_KIND = `
  select true as bool, 42::int4 as int4, 9007199254740991::int8 as int8, 1.5::float8 as float8, 'text'::text as text,
    '2026-12-07T10:00:00Z'::timestamptz as timestamptz, '\\x00ff'::bytea as bytea, '{"a":[1]}'::jsonb as jsonb,
    '7f3c2a10-0000-4000-8000-000000000000'::uuid as uuid,
    array['a', 'b,c', null]::text[] as text_array, array[1, 2]::int4[] as int4_array, array[true, false] as bool_array,
    array['2026-12-07T10:00:00Z'::timestamptz] as timestamptz_array, array['7f3c2a10-0000-4000-8000-000000000000'::uuid] as uuid_array,
    array['\\x01'::bytea] as bytea_array, array['{"b":2}'::jsonb] as jsonb_array`;

let client: PGlite;
beforeAll(async () => {
  // The suite's migrated template opens in under a second (an empty cluster takes several).
  const template = inject('pgliteTemplate');
  client = new PGlite(template ? { loadDataDir: new Blob([await readFile(template)]) } : {});
  await client.waitReady;
  // A table of our own, known to PGlite as at a start on a migrated database (the template is absent
  // when the suite runs against PostgreSQL).
  await client.exec('create table parser_probe (id int)');
  await client.refreshArrayTypes();
});
afterAll(() => client.close());

describe("trimming PGlite's result parsers", () => {
  it('drops the parsers of arrays of row types, and keeps every value the service reads parsed as before', async () => {
    const before = (await client.query(EVERY_KIND)).rows[0];
    const { rows } = await client.query<{ oid: number }>(`select oid from pg_type where typname in ('_pg_class', '_parser_probe', '_text', '_int4')`);
    const parsersOf = () => rows.filter(({ oid }) => client.parsers[oid]).length;
    expect(parsersOf()).toBe(4);
    const count = Object.keys(client.parsers).length;

    await dropRowArrayParsers(client);

    expect(parsersOf()).toBe(2); // _text and _int4 kept
    expect(Object.keys(client.parsers).length).toBeLessThan(count / 2);
    const after = (await client.query(EVERY_KIND)).rows[0];
    expect(after).toEqual(before);
    expect(after).toMatchObject({
      bool: true,
      int4: 42,
      timestamptz: new Date('2026-12-07T10:00:00Z'),
      jsonb: { a: [1] },
      text_array: ['a', 'b,c', null],
      int4_array: [1, 2],
      bool_array: [true, false],
      timestamptz_array: [new Date('2026-12-07T10:00:00Z')],
      jsonb_array: [{ b: 2 }],
    });
  });
});

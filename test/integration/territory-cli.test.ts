import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/commands.js';
import type { Db } from '../../src/db/database.js';
import { testEnvironment } from '../support/app.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';

describe('the territories command (node dist/cli.js territories …)', () => {
  // A migrated database of its own, handed to the command open (the purge test covers opening the configured one).
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(() => database?.drop());

  it('lists, creates (schema migrated, audited as cli) and updates territories; refuses bad input changing nothing', async () => {
    const env = testEnvironment({ PUBLIC_ORIGIN: 'https://id.example.test' });
    const out: string[] = [];
    const errors: string[] = [];
    const run = (...words: string[]) =>
      runCommand(words[0], { env, database, args: words.slice(1), print: (line) => out.push(line), printError: (line) => errors.push(line) });
    const inDatabase = <T>(read: (db: Db) => Promise<T>): Promise<T> => read(database.db);
    expect(await run('territories')).toBe(0);
    expect(out.at(-1)).toBe('main  "Main"  federation=id.example.test  matrix=id.example.test  open  active  local  default');

    expect(await run('territories', 'create', 'dk', 'Denmark', '--federation-domain', 'DK.example.org', '--invite-only')).toBe(0);
    expect(out.at(-1)).toBe('created: dk  "Denmark"  federation=dk.example.org  matrix=dk.example.org  invite-only  active  local');
    const created = await inDatabase(async (db) => ({
      tables: (await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'territory_dk' order by 1`.execute(db)).rows.map((row) => row.table_name),
      audit: await db.selectFrom('audit_log').select(['actor', 'action', 'target']).where('target', '=', 'dk').execute(),
    }));
    expect(created.tables.length).toBeGreaterThan(1); // the schema, with its migrations applied
    expect(created.audit).toEqual([{ actor: 'cli', action: 'territory.create', target: 'dk' }]);

    expect(await run('territories', 'update', 'dk', '--name', 'Danmark', '--matrix-domain', 'matrix.dk.example.org', '--open', '--status', 'closed')).toBe(0);
    expect(out.at(-1)).toBe('updated: dk  "Danmark"  federation=dk.example.org  matrix=matrix.dk.example.org  open  closed  local');
    expect(await run('territories', 'update', 'dk', '--no-federation-domain')).toBe(0);
    expect(out.at(-1)).toContain('federation=id.example.test  matrix=matrix.dk.example.org');
    out.length = 0;
    expect(await run('territories', 'list')).toBe(0);
    expect(out.map((line) => line.split('  ')[0])).toEqual(['main', 'dk']);

    // Refusals: a taken code or domain and an unknown territory answer their code (1); a bad command line its usage (2).
    expect(await run('territories', 'create', 'dk', 'Again')).toBe(1);
    expect(errors.at(-1)).toMatch(/^TERRITORY_EXISTS: /);
    expect(await run('territories', 'update', 'zz', '--name', 'Nowhere')).toBe(1);
    expect(errors.at(-1)).toMatch(/^TERRITORY_NOT_FOUND: /);
    expect(await run('territories', 'create', 'no', 'Norway', '--matrix-domain', 'matrix.dk.example.org', '--federation-domain', 'no.example.org')).toBe(0);
    expect(await run('territories', 'create', 'se', 'Sweden', '--federation-domain', 'no.example.org')).toBe(1);
    expect(errors.at(-1)).toMatch(/^TERRITORY_EXISTS: /);
    for (const bad of [
      ['territories', 'create', 'Bad-Code', 'Name'],
      ['territories', 'create', 'fi'],
      ['territories', 'create', 'fi', 'Finland', '--federation-domain', 'not a domain'],
      ['territories', 'create', 'fi', 'Finland', '--status', 'closed'],
      ['territories', 'update', 'dk'],
      ['territories', 'update', 'dk', '--open', '--invite-only'],
      ['territories', 'update', 'dk', '--status', 'gone'],
      ['territories', 'update', 'dk', '--colour', 'blue'],
      ['territories', 'rename', 'dk'],
    ]) {
      expect(await run(...bad), bad.join(' ')).toBe(2);
      expect(errors.at(-1)).toContain('usage: personae');
    }
    const codes = await inDatabase(async (db) => (await db.selectFrom('territories').select('code').orderBy('code').execute()).map((row) => row.code));
    expect(codes).toEqual(['dk', 'main', 'no']);
  }, 30_000);
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { Database } from '../../src/db/schema.js';
import { administer, withDatabase } from './postgres-admin.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A dump of a freshly migrated embedded database, or '' when the suite runs on PostgreSQL. */
    pgliteTemplate: string;
    /** A migrated PostgreSQL database to clone, or '' when the suite runs embedded. */
    postgresTemplate: string;
  }
}

/**
 * Once per run, a migrated database that every test file's own database starts as a copy of
 * (openTestDatabase): on PostgreSQL a template database on the server; embedded, a PGlite dump in a
 * file, since a new PGlite cluster takes seconds to initialize.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgresUrl = process.env.DATABASE_URL;
  if (postgresUrl) {
    project.provide('pgliteTemplate', '');
    const name = `personae_template_${randomBytes(6).toString('hex')}`;
    await administer(postgresUrl, `create database ${name}`);
    // Nothing may stay connected to a template while it is copied, so the pool closes first.
    const handle = openDatabase({ url: withDatabase(postgresUrl, name), poolSize: 1 });
    try {
      await migrateToLatest(handle.db);
    } finally {
      await handle.close();
    }
    project.provide('postgresTemplate', name);
    return () => administer(postgresUrl, `drop database if exists ${name} with (force)`);
  }
  project.provide('postgresTemplate', '');
  const folder = await mkdtemp(join(tmpdir(), 'personae-test-'));
  const path = join(folder, 'pglite-template.tar');
  const client = new PGlite();
  const db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
  await migrateToLatest(db);
  await writeFile(path, Buffer.from(await (await client.dumpDataDir('none')).arrayBuffer()));
  await db.destroy();
  project.provide('pgliteTemplate', path);
  return () => rm(folder, { recursive: true, force: true });
}

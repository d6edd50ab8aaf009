import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { inject } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { administer, withDatabase } from './postgres-admin.js';

/** The PostgreSQL server the suite runs against when DATABASE_URL is set; PGlite otherwise. */
export const postgresUrl = process.env.DATABASE_URL || undefined;
export const databaseKind = postgresUrl ? 'postgres' : 'embedded';

export interface TestDatabase extends DatabaseHandle {
  /** The URL of this test's own database (PostgreSQL only), for a second app node. */
  readonly url: string | undefined;
  /** Closes the connection and removes the database. */
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: PGlite in memory, or a new database on the
 * PostgreSQL server named by DATABASE_URL, so files run in parallel without seeing each other.
 */
export async function openTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  if (!postgresUrl) {
    const handle = openDatabase({ dataDir: 'memory', embeddedTemplate: await pgliteTemplate() });
    await migrateToLatest(handle.db); // a no-op on the template, which is already migrated
    return { ...handle, url: undefined, drop: handle.close };
  }
  const created = await createPostgresDatabase(postgresTemplate());
  const handle = openDatabase({ url: created.url, poolSize: options.poolSize ?? 10 });
  await migrateToLatest(handle.db); // a no-op on a copy of the template, which is already migrated
  return {
    ...handle,
    url: created.url,
    drop: async () => {
      await handle.close();
      await created.drop();
    },
  };
}

/** The migrated database made by global-setup.ts to copy (absent outside vitest's run). */
function postgresTemplate(): string | undefined {
  return inject('postgresTemplate') || undefined;
}

let template: Promise<Blob | undefined> | undefined;

/** The migrated PGlite dump made by global-setup.ts, read once per worker (absent outside vitest's run). */
function pgliteTemplate(): Promise<Blob | undefined> {
  template ??= (async () => {
    const path = inject('pgliteTemplate');
    return path ? new Blob([await readFile(path)]) : undefined;
  })();
  return template;
}

/** A new, empty database on the PostgreSQL server of DATABASE_URL (for processes that migrate it). */
export function createEmptyPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  return createPostgresDatabase(undefined);
}

/** A new database on the server of DATABASE_URL: a copy of `template`, or empty without one. */
async function createPostgresDatabase(template: string | undefined): Promise<{ url: string; drop(): Promise<void> }> {
  if (!postgresUrl) throw new Error('DATABASE_URL is not set');
  const server = postgresUrl;
  const name = `personae_test_${randomBytes(6).toString('hex')}`;
  await administer(server, template ? `create database ${name} template ${template}` : `create database ${name}`);
  return { url: withDatabase(server, name), drop: () => administer(server, `drop database if exists ${name} with (force)`) };
}

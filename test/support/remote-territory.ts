import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Db } from '../../src/db/database.js';
import { openTerritoryDatabases, type TerritoryDatabases } from '../../src/db/territory-databases.js';
import { startTestApp, type TestApp } from './app.js';
import { createEmptyPostgresDatabase } from './database.js';
import { createTerritory } from './moves.js';

/** A service whose territory lives on a second PostgreSQL database (real residency), and ways to look at it. */
export interface RemoteTerritory {
  readonly test: TestApp;
  /** A connection of the test's own to the second database, to look at it directly. */
  readonly direct: Db;
  /** Every territory's database as the service sees them (the remote one by its code). */
  readonly databases: TerritoryDatabases;
  close(): Promise<void>;
}

/** Services suite only (needs DATABASE_URL): territory `code` on a new database of the same server. */
export async function startWithRemoteTerritory(code: string): Promise<RemoteTerritory> {
  const second = await createEmptyPostgresDatabase();
  const test = await startTestApp({ env: { TERRITORY_DATABASE_URLS: `${code}=${second.url}` } });
  await createTerritory(test, code);
  const direct: Db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: second.url, max: 2 }) }) });
  const databases = openTerritoryDatabases(test.database.db, { [code]: second.url });
  return {
    test,
    direct,
    databases,
    async close() {
      await databases.close();
      await direct.destroy();
      await test.close();
      await second.drop();
    },
  };
}

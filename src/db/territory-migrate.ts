import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import { schemaOf } from '../modules/territories/territory.js';
import * as residents from './territory-migrations/t0001-residents.js';
import * as signInSecrets from './territory-migrations/t0002-sign-in-secrets.js';
import * as keyCredentials from './territory-migrations/t0003-key-credentials.js';
import * as walletKeys from './territory-migrations/t0004-persona-wallet-keys.js';
import * as passkeysAndLabels from './territory-migrations/t0005-passkeys-session-labels.js';
import * as appealsIdentification from './territory-migrations/t0006-appeals-identification.js';
import * as writtenAt from './territory-migrations/t0007-written-at.js';

type TerritoryMigration = { up(db: Kysely<unknown>, schema: string): Promise<void> };

/** A territory schema's own migrations, applied to each `territory_<code>` wherever it lives. */
const TERRITORY_MIGRATIONS: Record<string, TerritoryMigration> = {
  't0001-residents': residents,
  't0002-sign-in-secrets': signInSecrets,
  't0003-key-credentials': keyCredentials,
  't0004-persona-wallet-keys': walletKeys,
  't0005-passkeys-session-labels': passkeysAndLabels,
  't0006-appeals-identification': appealsIdentification,
  't0007-written-at': writtenAt,
};

/**
 * Creates the territory's schema when missing and applies its pending migrations; Kysely keeps the
 * schema's own migration table inside it, so every territory (and every server) tracks its own.
 */
export async function migrateTerritory(db: Kysely<any>, code: string): Promise<MigrationResultSet> {
  const schema = schemaOf(code);
  await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  const migrations = Object.fromEntries(
    Object.entries(TERRITORY_MIGRATIONS).map(([name, migration]): [string, Migration] => [name, { up: (target) => migration.up(target, schema) }]),
  );
  // Inside a global migration (0008 prepares the default territory) the caller's transaction holds
  // the lock and commits everything; Kysely cannot open a transaction inside it.
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableSchema: schema, disableTransactions: db.isTransaction });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  return result;
}

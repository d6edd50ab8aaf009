import { Migrator, type Migration, type MigrationResultSet } from 'kysely';
import type { Db } from './database.js';
import * as foundation from './migrations/0001-foundation.js';
import * as identityService from './migrations/0002-identity-service.js';
import * as signInMethods from './migrations/0003-sign-in-methods.js';
import * as retiredMethods from './migrations/0004-retired-methods.js';

/** Listed here rather than read from disk, so the same list runs from source (tests) and from dist. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-identity-service': identityService,
  '0003-sign-in-methods': signInMethods,
  '0004-retired-methods': retiredMethods,
};

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  return result;
}

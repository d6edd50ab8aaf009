import { Migrator, type Migration, type MigrationResultSet } from 'kysely';
import type { Db } from './database.js';
import * as foundation from './migrations/0001-foundation.js';
import * as identityService from './migrations/0002-identity-service.js';
import * as signInMethods from './migrations/0003-sign-in-methods.js';
import * as retiredMethods from './migrations/0004-retired-methods.js';
import * as federation from './migrations/0005-federation.js';
import * as territoryMoves from './migrations/0006-territory-moves.js';
import * as identityLookup from './migrations/0007-identity-lookup.js';
import * as territorySignInSecrets from './migrations/0008-territory-sign-in-secrets.js';
import * as territoryKeyCredentials from './migrations/0009-territory-key-credentials.js';
import * as territoryWalletKeys from './migrations/0010-territory-wallet-keys.js';
import * as territoryPasskeysSessionLabels from './migrations/0011-territory-passkeys-session-labels.js';
import * as territoryAppealsIdentification from './migrations/0012-territory-appeals-identification.js';
import * as retentionIndexes from './migrations/0013-retention-indexes.js';
import * as sessionLookup from './migrations/0015-session-lookup.js';
import * as auditSearchIndexes from './migrations/0016-audit-search-indexes.js';
import * as referenceIndexes from './migrations/0018-reference-indexes.js';
import * as auditStatistics from './migrations/0019-audit-statistics.js';
import * as sessionBatchLookup from './migrations/0020-session-batch-lookup.js';
import { migrateTerritory } from './territory-migrate.js';

/** Listed here rather than read from disk, so the same list runs from source (tests) and from dist. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-identity-service': identityService,
  '0003-sign-in-methods': signInMethods,
  '0004-retired-methods': retiredMethods,
  '0005-federation': federation,
  '0006-territory-moves': territoryMoves,
  '0007-identity-lookup': identityLookup,
  '0008-territory-sign-in-secrets': territorySignInSecrets,
  '0009-territory-key-credentials': territoryKeyCredentials,
  '0010-territory-wallet-keys': territoryWalletKeys,
  '0011-territory-passkeys-session-labels': territoryPasskeysSessionLabels,
  '0012-territory-appeals-identification': territoryAppealsIdentification,
  '0013-retention-indexes': retentionIndexes,
  '0015-session-lookup': sessionLookup,
  '0016-audit-search-indexes': auditSearchIndexes,
  '0018-reference-indexes': referenceIndexes,
  '0019-audit-statistics': auditStatistics,
  '0020-session-batch-lookup': sessionBatchLookup,
};

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  // Then the schema of every territory kept in this database (remote ones migrate when opened).
  const local = await db.selectFrom('territories').select('code').where('remote', '=', false).execute();
  for (const { code } of local) await migrateTerritory(db, code);
  return result;
}

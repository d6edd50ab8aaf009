import { systemClock } from './clock.js';
import { loadConfig, type Config } from './config.js';
import { AppError } from './errors.js';
import { territoriesCommand, TERRITORIES_USAGE, UsageError } from './territory-commands.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { openTerritoryDatabases } from './db/territory-databases.js';
import { createAccountSecretStore } from './modules/accounts/account-secret-repository.js';
import { createOrphanRepository } from './modules/orphans/orphan-repository.js';
import { createOrphanSweeper } from './modules/orphans/orphan-sweep-service.js';
import { createPurgeRepository } from './modules/personas/purge-repository.js';
import { createPurgeService } from './modules/personas/purge-service.js';
import { createConfiguredRetention } from './jobs/configured-retention.js';
import { RedisAttemptLimiter } from './rate-limit/redis-attempt-limiter.js';
import { createPostgresInvalidationBus } from './cache/postgres-invalidation-bus.js';

export const USAGE = [
  'usage: personae <command>',
  '',
  'commands:',
  '  migrate   apply every pending database migration',
  '  purge     hard-delete personas past their grace period (not under a legal hold or an open appeal)',
  '  prune     delete delivered events, spent challenges and ended sessions past their retention',
  '  sweep-orphans   delete territory rows whose account, session, profile, persona, appeal or invitation',
  '                  does not exist (ended sessions\' labels, rows left by a crash), once ORPHAN_GRACE_SECONDS old;',
  '                  not identification rows nothing points at (only a running service, which sees them twice, does)',
  '  territories [create|update] …   list, create or change territories (audited, actor `cli`)',
  '',
  TERRITORIES_USAGE,
].join('\n');

type Print = (line: string) => void;

/** What a command gets besides the database: the loaded config and the words after its name. */
interface CommandContext {
  readonly config: Config;
  readonly args: readonly string[];
}

const COMMANDS: Record<string, (database: DatabaseHandle, print: Print, context: CommandContext) => Promise<void>> = {
  async migrate(database, print) {
    const { results = [] } = await migrateToLatest(database.db);
    for (const result of results) print(`${result.status.toLowerCase()}: ${result.migrationName}`);
    print(results.length === 0 ? 'database is up to date' : `applied ${results.length} migration(s)`);
  },

  // For cron, when the in-process task is off (PURGE_INTERVAL_SECONDS=0); safe beside running nodes.
  async purge(database, print, { config }) {
    // A purged persona's wallet key lives in its person's territory, wherever that is.
    const territories = openTerritoryDatabases(database.db, config.federation.territoryDatabaseUrls);
    const secrets = createAccountSecretStore(database.db, territories);
    const report = await createPurgeService({ purge: createPurgeRepository(database.db, secrets), clock: systemClock }).run().finally(() => territories.close());
    if (report.purged > 0) await bumpIdentityGeneration(config);
    print(`purged ${report.purged} persona(s); released ${report.holdsReleased} display-name hold(s); forgot ${report.retiredMethodsForgotten} retired sign-in method(s)`);
  },

  // For cron, when the in-process sweep is off (ORPHAN_SWEEP_INTERVAL_SECONDS=0); safe beside running nodes.
  // Voluntary identification nothing points at needs two sweeps of one process a grace period apart
  // (it carries no time), so this one-shot run never deletes it: only the service's sweep does.
  async 'sweep-orphans'(database, print, { config }) {
    const territories = openTerritoryDatabases(database.db, config.federation.territoryDatabaseUrls);
    const sweeper = createOrphanSweeper({ orphans: createOrphanRepository(database.db, territories), clock: systemClock, graceSeconds: config.orphanSweep.graceSeconds });
    const report = await sweeper.sweep().finally(() => territories.close());
    const tables = Object.entries(report.deleted).map(([table, rows]) => `${table} ${rows}`);
    print(`deleted ${report.total} orphaned territory row(s)${tables.length > 0 ? ` (${tables.join(', ')})` : ''}`);
    if (report.failed.length > 0) throw new AppError('SERVICE_UNAVAILABLE', `could not sweep territory ${report.failed.join(', ')}; run it again once reachable`);
  },

  // For cron, when the in-process task is off (PRUNE_INTERVAL_SECONDS=0); safe beside running nodes.
  async prune(database, print, { config }) {
    const report = await createConfiguredRetention(config, database.db, systemClock).prune();
    print(`pruned ${report.events} event(s), ${report.verifications} challenge(s), ${report.sessions} session(s), ${report.signingKeys} signing key(s)`);
  },

  async territories(database, print, { config, args }) {
    await territoriesCommand(database.db, config, args, print);
    // A territory's name and domains are part of every public identity of its people.
    if (args[0] === 'create' || args[0] === 'update') await bumpIdentityGeneration(config);
  },
};

/**
 * Tells the running nodes' public lookup caches that identities changed (see IdentityGeneration),
 * as a change through the API does, before the command reports success: through Redis when the
 * service has it, else through PostgreSQL's invalidation bus, which returns once every listening
 * node confirmed. The embedded service's data directory is not shared with a command while the
 * service runs (one process owns a PGlite directory): nothing to tell.
 */
async function bumpIdentityGeneration(config: Config): Promise<void> {
  if (config.redisUrl) {
    const limiter = await RedisAttemptLimiter.connect(config.redisUrl);
    try {
      await limiter.lookupGate().bump();
    } finally {
      await limiter.close();
    }
    return;
  }
  if (!config.databaseUrl) return;
  const failures: unknown[] = [];
  const bus = await createPostgresInvalidationBus(config.databaseUrl, { onError: (error) => failures.push(error) });
  try {
    // The change is saved; some node may still show the state before it (until its cache's TTL).
    if (!(await bus.publish({ kind: 'identities' }))) throw new Error(`saved, but not every running node confirmed it: ${String(failures[0])}`);
  } finally {
    await bus.close();
  }
}

export interface CommandOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly print?: Print;
  readonly printError?: Print;
  /** The words after the command's name (`territories create dk Denmark` → `['create', 'dk', 'Denmark']`). */
  readonly args?: readonly string[];
  /** An open database to run against instead of the configured one (left open): tests that already hold one. */
  readonly database?: DatabaseHandle;
}

/** Runs one admin command against the configured database; answers the process exit code. */
export async function runCommand(command: string | undefined, options: CommandOptions = {}): Promise<number> {
  const { env, print = console.log, printError = console.error, args = [] } = options;
  if (command === undefined || !Object.hasOwn(COMMANDS, command)) {
    printError(USAGE);
    return command === undefined || command === 'help' ? 0 : 2;
  }
  const config = env ? loadConfig(env) : loadConfig(); // config.ts alone reads the process environment
  const database = options.database ?? openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    await COMMANDS[command]?.(database, print, { config, args });
    return 0;
  } catch (error) {
    // A wrong command line shows the usage (2); an expected refusal (a taken code, an unknown territory) its code (1).
    if (error instanceof UsageError) {
      printError(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof AppError) {
      printError(`${error.code}: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    if (!options.database) await database.close();
  }
}

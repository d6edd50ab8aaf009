import { systemClock } from './clock.js';
import { loadConfig } from './config.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { createPurgeRepository } from './modules/personas/purge-repository.js';
import { createPurgeService } from './modules/personas/purge-service.js';

export const USAGE = [
  'usage: personae <command>',
  '',
  'commands:',
  '  migrate   apply every pending database migration',
  '  purge     hard-delete personas past their grace period (not under a legal hold or an open appeal)',
].join('\n');

type Print = (line: string) => void;

const COMMANDS: Record<string, (database: DatabaseHandle, print: Print) => Promise<void>> = {
  async migrate(database, print) {
    const { results = [] } = await migrateToLatest(database.db);
    for (const result of results) print(`${result.status.toLowerCase()}: ${result.migrationName}`);
    print(results.length === 0 ? 'database is up to date' : `applied ${results.length} migration(s)`);
  },

  // For cron, when the in-process task is off (PURGE_INTERVAL_SECONDS=0); safe beside running nodes.
  async purge(database, print) {
    const report = await createPurgeService({ purge: createPurgeRepository(database.db), clock: systemClock }).run();
    print(`purged ${report.purged} persona(s); released ${report.holdsReleased} display-name hold(s); forgot ${report.retiredMethodsForgotten} retired sign-in method(s)`);
  },
};

export interface CommandOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly print?: Print;
  readonly printError?: Print;
}

/** Runs one admin command against the configured database; answers the process exit code. */
export async function runCommand(command: string | undefined, options: CommandOptions = {}): Promise<number> {
  const { env, print = console.log, printError = console.error } = options;
  if (command === undefined || !Object.hasOwn(COMMANDS, command)) {
    printError(USAGE);
    return command === undefined || command === 'help' ? 0 : 2;
  }
  const config = env ? loadConfig(env) : loadConfig(); // config.ts alone reads the process environment
  const database = openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    await COMMANDS[command]?.(database, print);
    return 0;
  } finally {
    await database.close();
  }
}

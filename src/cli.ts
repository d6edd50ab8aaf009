import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';

const USAGE = 'usage: personae <command>\n\ncommands:\n  migrate   apply every pending database migration';

/** Admin commands: `node dist/cli.js migrate`. */
async function run(command: string | undefined): Promise<number> {
  if (command !== 'migrate') {
    console.error(USAGE);
    return command === undefined || command === 'help' ? 0 : 2;
  }
  const config = loadConfig();
  const database = openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    const { results = [] } = await migrateToLatest(database.db);
    for (const result of results) console.log(`${result.status.toLowerCase()}: ${result.migrationName}`);
    console.log(results.length === 0 ? 'database is up to date' : `applied ${results.length} migration(s)`);
    return 0;
  } finally {
    await database.close();
  }
}

try {
  process.exitCode = await run(process.argv[2]);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
}

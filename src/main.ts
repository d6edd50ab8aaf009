import { buildApp } from './app.js';
import { openInvalidationBus } from './cache/open-invalidation-bus.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/database.js';
import { seedEmbeddedCluster } from './db/embedded-template.js';
import { migrateToLatest } from './db/migrate.js';
import { createLogger } from './http/logger.js';

/** loadConfig → openDatabase → migrate → buildApp → listen; SIGTERM and SIGINT close gracefully. */
async function main(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  // A first embedded start copies the cluster the build made, instead of running initdb (embedded-template.ts).
  if (!config.databaseUrl) await seedEmbeddedCluster(config.dataDir);
  const database = openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  await migrateToLatest(database.db);
  const invalidation = await openInvalidationBus(config, logger);
  const app = await buildApp({ config, database, logger, invalidation });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    // app.close() stops accepting connections and resolves once in-flight requests have answered.
    await app.close();
    await invalidation.close();
    await database.close();
    logger.info('stopped');
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  logger.info(
    { database: database.kind, cache: config.redisUrl ? 'redis' : 'memory', invalidation: config.redisUrl ? 'redis' : invalidation.confirmsAcrossNodes ? 'postgres' : 'memory', docs: '/docs' },
    `personae listening on http://${config.host}:${config.port}`,
  );
}

try {
  await main(loadConfig());
} catch (error) {
  // A configuration error is the operator's to fix: say what, without a stack trace.
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}

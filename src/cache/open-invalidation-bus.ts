import type { Logger } from 'pino';
import { createMemoryInvalidationBus, type InvalidationBus } from './invalidation-bus.js';
import { createPostgresInvalidationBus } from './postgres-invalidation-bus.js';
import { createRedisInvalidationBus } from './redis-invalidation-bus.js';

/** PostgreSQL's "feature not supported": a PostgreSQL-compatible database without LISTEN. */
const FEATURE_NOT_SUPPORTED = '0A000';

/**
 * The bus the deployment's nodes share: Redis when the service has it; else PostgreSQL's
 * LISTEN/NOTIFY when the database is a server (several nodes may share it); else (the embedded
 * database, one process) the in-memory bus. A PostgreSQL-compatible database that refuses LISTEN
 * gets the in-memory bus, with a warning: caches then stay per node (see docs/operations.md).
 */
export async function openInvalidationBus(
  config: { readonly redisUrl: string | undefined; readonly databaseUrl: string | undefined },
  logger: Pick<Logger, 'warn'>,
): Promise<InvalidationBus> {
  const onError = (error: unknown) => logger.warn({ err: error }, 'cache invalidation not published or not confirmed');
  if (config.redisUrl) return createRedisInvalidationBus(config.redisUrl, { onError });
  if (!config.databaseUrl) return createMemoryInvalidationBus();
  try {
    return await createPostgresInvalidationBus(config.databaseUrl, { onError });
  } catch (error) {
    if ((error as { code?: unknown }).code !== FEATURE_NOT_SUPPORTED) throw error;
    logger.warn({ err: error }, 'the database does not support LISTEN: cache invalidations reach this node only');
    return createMemoryInvalidationBus();
  }
}

import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { randomSecret } from './app.js';
import { createEmptyPostgresDatabase } from './database.js';
import { HttpVisitor, type HttpAnswer } from './http-visitor.js';
import { killHard, startNats, startRedis, startService, stopGracefully, tempFolder, type Proc, type ServiceNode } from './service-process.js';

type Server = Proc & { readonly url: string; readonly port: number };

/** The `application_name` of the test's own connections (`Cluster.sql`). */
export const CHECKS_APPLICATION = 'personae-test-checks';

/**
 * Service processes on one new PostgreSQL database, with a Redis and a NATS server of their own
 * (so a test may kill them without touching the machine's, which other tests use).
 */
export interface Cluster {
  readonly nodes: readonly ServiceNode[];
  readonly databaseUrl: string;
  /** A small pool of the test's own on the same database, for SQL checks. */
  readonly sql: DatabaseHandle;
  readonly adminToken: string;
  readonly subjectPrefix: string;
  redis: Server;
  nats: Server;
  /** Kills the Redis (or NATS) server with SIGKILL; `restart` brings one up on the same port (and store). */
  kill(server: 'redis' | 'nats'): Promise<void>;
  restart(server: 'redis' | 'nats'): Promise<void>;
  /** Places (or lifts) a ban through a node's admin API. */
  ban(node: ServiceNode, personaId: string, lift?: boolean): Promise<HttpAnswer>;
  /** Outbox rows not yet delivered. */
  pendingEvents(): Promise<number>;
  close(): Promise<void>;
}

export async function startCluster(size: number): Promise<Cluster> {
  const database = await createEmptyPostgresDatabase();
  const natsStore = tempFolder('nats');
  const [redis, nats] = await Promise.all([startRedis(), startNats(natsStore.path)]);
  const adminToken = randomSecret();
  const subjectPrefix = `personae_cluster_${randomBytes(4).toString('hex')}.events`;
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    NATS_URL: nats.url,
    NATS_SUBJECT_PREFIX: subjectPrefix,
    EVENT_RELAY_INTERVAL_MS: '200',
    // A cached session lives for an hour: only an invalidation can make a node see a revocation.
    SESSION_CACHE_TTL_SECONDS: '3600',
    LOGIN_ATTEMPTS_PER_ACCOUNT: '5', // the global-limit test counts on five
    LOGIN_ATTEMPTS_PER_CLIENT: '10000',
    PASSWORD_HASHING_CONCURRENCY: '1',
    COOKIE_SECRETS: randomSecret(),
    TOKEN_HASH_KEY: randomSecret(),
    PSEUDONYM_KEYS: `k1:${randomSecret()}`,
    ADMIN_TOKEN: adminToken,
    EMAIL_KEYS: `k1:${randomSecret()}`,
  };
  // The first node migrates the empty database; the others then start side by side.
  const first = await startService('node-1', env);
  const rest = await Promise.all(Array.from({ length: size - 1 }, (_, i) => startService(`node-${i + 2}`, env)));
  // Named, so that a test terminating the service's connections can leave its own checks alone.
  const sql = openDatabase({ url: `${database.url}?application_name=${CHECKS_APPLICATION}`, poolSize: 2 });

  const cluster: Cluster = {
    nodes: [first, ...rest],
    databaseUrl: database.url,
    sql,
    adminToken,
    subjectPrefix,
    redis,
    nats,
    async kill(server) {
      await killHard(cluster[server]);
    },
    async restart(server) {
      cluster[server] = server === 'redis' ? await startRedis(cluster.redis.port) : await startNats(natsStore.path, cluster.nats.port);
    },
    ban: (node, personaId, lift = false) =>
      new HttpVisitor().request(
        node.base,
        'POST',
        lift ? '/admin/bans/lift' : '/admin/bans',
        lift ? { subject: { personaId } } : { subject: { personaId }, reason: 'spam' },
        { authorization: `Bearer ${adminToken}` },
      ),
    async pendingEvents() {
      const rows = await sql.db.selectFrom('outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('dispatched_at', 'is', null).execute();
      return Number(rows[0]?.n);
    },
    async close() {
      await Promise.all(cluster.nodes.map((node) => stopGracefully(node)));
      await Promise.all([killHard(cluster.redis), killHard(cluster.nats)]);
      natsStore.remove();
      await sql.close();
      await database.drop();
    },
  };
  return cluster;
}

/** Polls until `check` holds; answers the milliseconds it took, or fails after `limitMs`. */
export async function within(limitMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if (await check().catch(() => false)) return Date.now() - started;
    await delay(100);
  }
  throw new Error(`${what}: not within ${limitMs} ms`);
}

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as turnOfTheEventLoop } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql, type KyselyPlugin, type Transaction } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { trimResultParsers } from './pglite-parsers.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;

export interface DatabaseHandle {
  readonly db: Db;
  /** `embedded` is PGlite in-process; `postgres` is a server reached by URL. */
  readonly kind: 'embedded' | 'postgres';
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A PostgreSQL URL; without one the embedded database opens in `dataDir` (or in memory). */
  readonly url?: string | undefined;
  readonly dataDir?: string | 'memory';
  readonly poolSize?: number;
  /**
   * An in-memory embedded database starts as a copy of this data-directory dump (PGlite's
   * `dumpDataDir`) instead of an empty cluster: a migrated copy opens in under a second, where a new
   * cluster takes several. The test suite makes one per run. (A data folder is seeded by copying the
   * build's cluster instead: see embedded-template.ts.)
   */
  readonly embeddedTemplate?: Blob;
}

export function openDatabase(options: DatabaseOptions): DatabaseHandle {
  return options.url
    ? openPostgres(options.url, options.poolSize ?? 10)
    : openEmbedded(options.dataDir ?? 'memory', options.embeddedTemplate);
}

function openPostgres(url: string, poolSize: number): DatabaseHandle {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // A client that loses its server must not take the process down: idle clients report through the
  // pool, busy ones through themselves (their query still fails, and the pool drops them on release).
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return handle(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres');
}

/** The folder PGlite keeps its cluster in, under the service's data folder. */
export const embeddedLocation = (dataDir: string) => join(dataDir, 'pglite');

/** Whether the data folder already holds an embedded cluster (a template is then neither needed nor loadable). */
export function hasEmbeddedCluster(dataDir: string): boolean {
  return dataDir !== 'memory' && existsSync(join(embeddedLocation(dataDir), 'PG_VERSION'));
}

/**
 * PostgreSQL's default 128 MB of shared buffers, in PGlite, is wasm memory the process holds for good
 * (most of the embedded service's idle RSS). The embedded database is one process's own store, for
 * small communities, and its reads are served from the operating system's page cache as well: 16 MB
 * (2,048 pages) holds its indexes' hot pages. Each halving saves about 12 MB of RSS.
 */
const EMBEDDED_SHARED_BUFFERS = '16MB';
const EMBEDDED_STATISTICS_TARGET = 10;

/**
 * PostgreSQL's settings for the embedded database, after PGlite's own (which turn parallel query off).
 * Exported for the test that holds them to what they prevent.
 */
export const EMBEDDED_START_PARAMS: readonly string[] = [
  ...PGlite.defaultStartParams,
  ...['-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`],
  // The periodic VACUUM and ANALYZE (table maintenance) run in this process's WebAssembly
  // memory, which never shrinks: cap what one of them may take (PostgreSQL's default is 64 MB).
  ...['-c', 'maintenance_work_mem=8MB'],
  // PGlite leaves this at 2, so every VACUUM of a table with two indexes over 512 kB planned a
  // parallel vacuum, which has no workers to run here, and its shared memory segment (1.6–3.2 MB
  // of WebAssembly memory) was never given back: issue 12's soak grew 3 MB a minute from the
  // seventh minute on, when the busiest tables' indexes passed that size.
  ...['-c', 'max_parallel_maintenance_workers=0'],
  // ANALYZE runs on the request thread too, and samples 300 rows per unit of target: at the
  // default 100, 30,000 rows took 70–240 ms for 20,000 personas, every request waiting behind it
  // (issue 12's soak: the maintenance round grew from 62 to 273 ms in ten minutes). At 10, 3,000
  // rows take 7–18 ms; the plans here need table sizes and distinct counts, not fine histograms
  // (except the audit log's skewed filter columns: migration 0019 keeps those at 100).
  ...['-c', `default_statistics_target=${EMBEDDED_STATISTICS_TARGET}`],
];

function openEmbedded(dataDir: string, template: Blob | undefined): DatabaseHandle {
  let location: string | undefined;
  if (dataDir !== 'memory') {
    location = embeddedLocation(dataDir);
    mkdirSync(location, { recursive: true });
  }
  // Options only: `new PGlite(undefined, options)` for an in-memory database starts about four
  // times slower (2.2 s against 0.5 s from the test template).
  const client = new PGlite({
    ...(location ? { dataDir: location } : {}),
    startParams: [...EMBEDDED_START_PARAMS],
    ...(template && !location ? { loadDataDir: template } : {}),
  });
  // Results parse the same with or without it, so it need not hold the first queries back. A failed
  // start is reported by the queries themselves.
  client.waitReady.then(() => trimResultParsers(client)).catch(() => undefined);
  return handle(new Kysely<Database>({ dialect: new PGliteDialect(client), plugins: [giveWayAfterEachQuery] }), 'embedded');
}

/**
 * PGlite runs each query on this thread and settles a chain of them in microtasks, so a job of many
 * queries (a table-maintenance round, an orphan sweep, a purge) held every request until its last
 * query: a `setImmediate` queued before five queries ran after all five. One turn of the event loop
 * after each query lets requests that arrived meanwhile in (a few µs against a query's hundreds).
 */
const giveWayAfterEachQuery: KyselyPlugin = {
  transformQuery: ({ node }) => node,
  transformResult: async ({ result }) => {
    await turnOfTheEventLoop();
    return result;
  },
};

function handle(db: Db, kind: DatabaseHandle['kind']): DatabaseHandle {
  return {
    db,
    kind,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

/** PostgreSQL's SQLSTATE for a unique violation, and a check that names the constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const candidate = error as { code?: unknown; constraint?: unknown; message?: unknown };
  if (candidate?.code !== '23505') return false;
  if (!constraint) return true;
  // PGlite reports the constraint only in the message.
  return candidate.constraint === constraint || String(candidate.message).includes(constraint);
}

// npm run bench: GET /session of a started guest against a bare signed-cookie route, on the embedded
// database (PGlite) and on PostgreSQL. Servers run as child processes so that, on a 2-core machine,
// the server has one core and autocannon (here, in this process) the other.
//
// Knobs: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 3), BENCH_CONNECTIONS (50), BENCH_ROUNDS (3: the
// service and the bare route are loaded in turn this many times, and the round with the median ratio
// is reported, so that a virtual machine's speed drifting between two loads does not make the figure),
// BENCH_UNCACHED_GUESTS (1000: the visitors who take turns on the uncached run), BENCH_DATABASES
// (embedded,postgres), BENCH_DATABASE_URL or DATABASE_URL (PostgreSQL admin URL), BENCH_CPU_PROF=1
// (write V8 CPU profiles of the service and of the bare route to .bench/profiles).
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integerFromEnv } from './lib/settings.mjs';
import { onInterrupt, stop } from './lib/children.mjs';
import { measure } from './lib/load.mjs';
import { createBenchDatabase, redact } from './lib/postgres.mjs';
import { evaluate, render, writeResults } from './lib/report.mjs';
import { startBare, startGuests, startService } from './lib/servers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsPath = join(root, '.bench/results.json');

const settings = {
  durationSeconds: integerFromEnv('BENCH_DURATION', 10, 1),
  warmupSeconds: integerFromEnv('BENCH_WARMUP', 3, 0),
  connections: integerFromEnv('BENCH_CONNECTIONS', 50, 1),
  rounds: integerFromEnv('BENCH_ROUNDS', 3, 1),
  uncachedGuests: integerFromEnv('BENCH_UNCACHED_GUESTS', 1000, 1),
  cpus: availableParallelism(),
  databases: (process.env.BENCH_DATABASES || 'embedded,postgres').split(',').map((name) => name.trim()),
  postgresUrl: process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/test',
  cpuProfile: process.env.BENCH_CPU_PROF === '1',
};
const load = { connections: settings.connections, warmupSeconds: settings.warmupSeconds, durationSeconds: settings.durationSeconds };
const nodeArgs = settings.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${join(root, '.bench/profiles')}`] : [];

const log = (message) => console.error(`[bench] ${message}`);

/** Loads the service on one database, then the bare route, back to back so both see the same machine. */
async function measurePair(label, bare, database) {
  log(`${label}: starting the service`);
  const service = await startService({ root, database, nodeArgs });
  try {
    const rounds = [];
    for (let round = 1; round <= settings.rounds; round++) {
      log(`${label}: round ${round} of ${settings.rounds}: GET /session (${load.warmupSeconds} s warm-up + ${load.durationSeconds} s), then the bare route`);
      const session = await measure({ ...load, url: service.url, cookie: service.cookie, serverPid: service.proc.child.pid });
      const bareResult = await measure({ ...load, url: bare.url, cookie: bare.cookie, serverPid: bare.proc.child.pid });
      rounds.push({ session, bare: bareResult, ratio: session.summary.rps / bareResult.summary.rps });
    }
    const median = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(rounds.length / 2)];
    await stop(service.proc); // PGlite's data folder admits one process at a time
    return { session: median.session, bare: median.bare, roundRatios: rounds.map((round) => round.ratio), uncached: await measureUncached(label, database) };
  } finally {
    await stop(service.proc);
  }
}

/**
 * The same route with the session cache off, so every request goes to the database: what a
 * visitor's first request on a node costs, and what the cached figure would be without the cache.
 * Many visitors take turns (BENCH_UNCACHED_GUESTS), as on a real node: lookups that reach the
 * database together share a statement, and one visitor asking 50 times at once would flatter it.
 */
async function measureUncached(label, database) {
  log(`${label}: loading GET /session with the session cache off, ${settings.uncachedGuests} guests in turn`);
  const service = await startService({ root, database: { ...database, SESSION_CACHE_TTL_SECONDS: '0' }, nodeArgs });
  try {
    const cookies = await startGuests(service.url, settings.uncachedGuests);
    return await measure({ ...load, url: service.url, cookies, serverPid: service.proc.child.pid });
  } finally {
    await stop(service.proc);
  }
}

async function embeddedRun(bare) {
  const label = 'embedded (PGlite)';
  const dataDir = await mkdtemp(join(tmpdir(), 'personae-bench-'));
  const forget = onInterrupt(() => rm(dataDir, { recursive: true, force: true }));
  try {
    return { database: 'embedded', label, ...(await measurePair(label, bare, { DATA_DIR: dataDir })) };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    forget();
  }
}

async function postgresRun(bare) {
  const label = 'PostgreSQL';
  let database;
  try {
    database = await createBenchDatabase(settings.postgresUrl);
  } catch (error) {
    // Not reachable (or not allowed to create a database): say so and carry on with what we have.
    const reason = `PostgreSQL at ${redact(settings.postgresUrl)} not usable: ${error.message || error.code || error}`;
    log(`${label}: skipped. ${reason}`);
    return { database: 'postgres', label, skipped: reason };
  }
  const forget = onInterrupt(() => database.drop());
  try {
    log(`${label}: fresh database ${database.name}`);
    return { database: 'postgres', label, ...(await measurePair(label, bare, { DATABASE_URL: database.url })) };
  } finally {
    await database.drop().catch((error) => log(`could not drop ${database.name}: ${error.message}`));
    forget();
  }
}

async function main() {
  const runs = [];
  const bare = await startBare({ root, nodeArgs });
  try {
    for (const name of settings.databases) {
      const run = name === 'embedded' ? embeddedRun : name === 'postgres' ? postgresRun : null;
      if (!run) throw new Error(`BENCH_DATABASES: unknown database "${name}" (embedded, postgres)`);
      try {
        runs.push(await run(bare));
      } catch (error) {
        // One database failing must not hide the other's figures; the exit code still says it failed.
        process.exitCode = 1;
        log(`${name}: failed: ${error.stack || error}`);
        runs.push({ database: name, label: name, skipped: `failed: ${error.message}` });
      }
    }
  } finally {
    await stop(bare.proc);
  }
  for (const run of runs) if (!run.skipped) run.verdict = evaluate(run);

  const { postgresUrl, ...printable } = settings;
  await writeResults(resultsPath, { settings: { ...printable, postgresUrl: redact(postgresUrl) }, runs });
  console.log(`\n${render({ settings, runs })}\n\nRaw results: ${resultsPath}`);
}

try {
  await main();
} catch (error) {
  console.error(`[bench] failed: ${error.stack || error}`);
  process.exitCode = 1; // the 'exit' handler in lib/children.mjs kills any child still running
}

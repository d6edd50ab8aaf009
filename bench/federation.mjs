// npm run bench:federation (and the last part of npm run bench): the public lookups of spec 004,
// WebFinger (`GET /.well-known/webfinger?resource=acct:…`) and `GET /identities/{handle}`, each
// against a bare Fastify route answering the same document from memory, in the same run, on the
// embedded database (PGlite) and on PostgreSQL. Lookups are uncached: every one reads the database,
// so `GET /readyz` (one `select 1`) is measured too, as the ceiling any fresh lookup can reach.
//
// Knobs: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 3), BENCH_CONNECTIONS (50),
// BENCH_DATABASES (embedded,postgres), BENCH_DATABASE_URL or DATABASE_URL (PostgreSQL admin URL),
// BENCH_REDIS_URL or REDIS_URL (given to the PostgreSQL run's service: shared limiter and invalidation bus).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, onInterrupt, startNode, stop, waitReady } from './lib/children.mjs';
import { measure } from './lib/load.mjs';
import { createBenchDatabase, redact } from './lib/postgres.mjs';
import { startService } from './lib/servers.mjs';
import { integerFromEnv } from './lib/settings.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsPath = join(root, '.bench/federation.json');
const log = (message) => console.error(`[bench:federation] ${message}`);
/** The goal of issue 11: a lookup keeps at least half the bare route's throughput. */
const MIN_RATIO = 0.5;

const settings = {
  durationSeconds: integerFromEnv('BENCH_DURATION', 10, 1),
  warmupSeconds: integerFromEnv('BENCH_WARMUP', 3, 0),
  connections: integerFromEnv('BENCH_CONNECTIONS', 50, 1),
  cpus: availableParallelism(),
  databases: (process.env.BENCH_DATABASES || 'embedded,postgres').split(',').map((name) => name.trim()),
  postgresUrl: process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/test',
  redisUrl: process.env.BENCH_REDIS_URL || process.env.REDIS_URL || undefined,
};
const load = { connections: settings.connections, warmupSeconds: settings.warmupSeconds, durationSeconds: settings.durationSeconds };
const HANDLE = 'bench_person';
const ROUTES = {
  webfinger: `/.well-known/webfinger?resource=acct:${HANDLE}@localhost`,
  identity: `/identities/${HANDLE}`,
  // The floor: one trivial query (`select 1`) through the same service; no fresh lookup can beat it.
  'db floor': '/readyz',
};

async function startBareFederation() {
  const port = await freePort();
  const proc = startNode(join(root, 'bench/bare-federation-server.mjs'), {
    env: { PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' },
    name: 'bare federation server (bench/bare-federation-server.mjs)',
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(proc, `${base}/readyz`);
    return { proc, base };
  } catch (error) {
    await stop(proc);
    throw error;
  }
}

/** The started guest's persona takes the handle the bench looks up. */
async function claimHandle(sessionUrl, cookie) {
  const base = new URL(sessionUrl).origin;
  const session = await (await fetch(sessionUrl, { headers: { cookie } })).json();
  const claimed = await fetch(`${base}/personas/${session.persona.id}/handle`, {
    method: 'PUT',
    headers: { cookie, 'content-type': 'application/json' },
    body: JSON.stringify({ handle: HANDLE }),
  });
  if (claimed.status !== 200) throw new Error(`claiming ${HANDLE} answered ${claimed.status}: ${await claimed.text()}`);
  for (const path of [ROUTES.webfinger, ROUTES.identity]) {
    const response = await fetch(`${base}${path}`);
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  }
  return base;
}

async function measureDatabase(label, bare, database) {
  log(`${label}: starting the service`);
  // One client (this process) makes every lookup: the per-client limit is lifted for the run.
  const service = await startService({ root, database: { ...database, LOOKUPS_PER_CLIENT: '10000000' } });
  try {
    const base = await claimHandle(service.url, service.cookie);
    const results = {};
    for (const [name, path] of Object.entries(ROUTES)) {
      log(`${label}: loading ${path} (${load.warmupSeconds} s warm-up + ${load.durationSeconds} s), then the bare route`);
      const real = await measure({ ...load, url: `${base}${path}`, headers: {}, serverPid: service.proc.child.pid });
      const baseline = await measure({ ...load, url: `${bare.base}${path}`, headers: {}, serverPid: bare.proc.child.pid });
      results[name] = { service: real.summary, bare: baseline.summary, ratio: real.summary.rps / baseline.summary.rps };
    }
    return results;
  } finally {
    await stop(service.proc);
  }
}

async function embeddedRun(bare) {
  const label = 'embedded (PGlite)';
  const dataDir = await mkdtemp(join(tmpdir(), 'personae-bench-'));
  const forget = onInterrupt(() => rm(dataDir, { recursive: true, force: true }));
  try {
    return { label, results: await measureDatabase(label, bare, { DATA_DIR: dataDir }) };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    forget();
  }
}

async function postgresRun(bare) {
  const label = settings.redisUrl ? 'PostgreSQL+Redis' : 'PostgreSQL';
  let database;
  try {
    database = await createBenchDatabase(settings.postgresUrl);
  } catch (error) {
    const reason = `PostgreSQL at ${redact(settings.postgresUrl)} not usable: ${error.message || error.code || error}`;
    log(`${label}: skipped. ${reason}`);
    return { label, skipped: reason };
  }
  const forget = onInterrupt(() => database.drop());
  try {
    return { label, results: await measureDatabase(label, bare, { DATABASE_URL: database.url, ...(settings.redisUrl ? { REDIS_URL: settings.redisUrl } : {}) }) };
  } finally {
    await database.drop().catch((error) => log(`could not drop ${database.name}: ${error.message}`));
    forget();
  }
}

function render(runs) {
  const lines = [
    `Federation lookups vs bare routes: ${settings.connections} connections, ${settings.warmupSeconds} s warm-up, ` +
      `${settings.durationSeconds} s measured (Node ${process.version}, ${settings.cpus} CPUs)`,
    '',
  ];
  const failed = (s) => s.non2xx + s.errors + s.timeouts;
  for (const run of runs) {
    if (run.skipped) {
      lines.push(`${run.label}: skipped (${run.skipped})`);
      continue;
    }
    for (const [name, { service, bare, ratio }] of Object.entries(run.results)) {
      lines.push(
        `${run.label.padEnd(18)} ${name.padEnd(10)} service ${Math.round(service.rps).toLocaleString('en-US').padStart(7)} req/s ` +
          `(p99 ${service.p99} ms, ${service.serverCpuUsPerRequest} µs CPU/req)   bare ${Math.round(bare.rps).toLocaleString('en-US').padStart(7)} req/s   ` +
          `ratio ${(ratio * 100).toFixed(1)}%` + (name === 'db floor' ? ' (ceiling for a fresh read)' : ` ${ratio >= MIN_RATIO ? 'MET' : 'MISSED'} (goal ≥ ${MIN_RATIO * 100}%)`) +
          (failed(service) + failed(bare) > 0 ? `   WARNING: ${failed(service) + failed(bare)} failed requests` : ''),
      );
    }
  }
  return lines.join('\n');
}

async function main() {
  const runs = [];
  const bare = await startBareFederation();
  try {
    for (const name of settings.databases) {
      const run = name === 'embedded' ? embeddedRun : name === 'postgres' ? postgresRun : null;
      if (!run) throw new Error(`BENCH_DATABASES: unknown database "${name}" (embedded, postgres)`);
      try {
        runs.push(await run(bare));
      } catch (error) {
        process.exitCode = 1;
        log(`${name}: failed: ${error.stack || error}`);
        runs.push({ label: name, skipped: `failed: ${error.message}` });
      }
    }
  } finally {
    await stop(bare.proc);
  }
  const { postgresUrl, redisUrl, ...printable } = settings;
  await writeFederationResults({ settings: { ...printable, postgresUrl: redact(postgresUrl), redis: Boolean(redisUrl) }, runs });
  console.log(`\n${render(runs)}\n\nRaw results: ${resultsPath}`);
}

async function writeFederationResults(body) {
  await mkdir(join(root, '.bench'), { recursive: true });
  await writeFile(resultsPath, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, minRatio: MIN_RATIO, ...body }, null, 2)}\n`);
}

try {
  await main();
} catch (error) {
  console.error(`[bench:federation] failed: ${error.stack || error}`);
  process.exitCode = 1;
}

// npm run soak: the service under a steady mixed load for SOAK_SECONDS (600), sampling latency
// percentiles and the server's RSS over time; fails when either grew by more than SOAK_MAX_GROWTH
// percent (10) over the measured run, or when any request failed (5xx, dropped). Growth is read off a
// robust trend line (Theil–Sen) through every sample, not from two windows: RSS swings ±5 % with the
// garbage collector and latency with the machine, and two points of a swing look like growth or its end.
// On PostgreSQL it also reads the CPU the server's backends spend for the service's database (when
// the server runs on this machine), since the service's own CPU leaves out the work its queries cause.
// Each window also times a fixed piece of CPU work (probe ms): a shared machine's speed changes by the
// hour, and a slower machine makes latency and CPU per operation grow as a slower service would.
// The load is steady, at half of what the service can serve on this machine right now: before the
// run, the same mix is sent back to back for a while (the capacity), and the soak asks for SOAK_LOAD
// percent of it, the way the benchmarks measure their baseline in the same run. A fixed rate meant a
// different load on every hour of a machine whose speed moves twofold, and near saturation latency
// measures the queue, not the service. Not part of CI.
//
// Knobs: SOAK_SECONDS (600), SOAK_WARMUP_SECONDS (a tenth of the run, at most 60), SOAK_WINDOWS (10),
// SOAK_LOAD (% of the measured capacity, 50), SOAK_CALIBRATION_SECONDS (20), SOAK_RATE (operations/s:
// a fixed rate instead, no calibration), SOAK_USERS (concurrent clients, 16), SOAK_MAX_GROWTH (%, 10),
// SOAK_DATABASE (embedded | postgres; postgres uses BENCH_DATABASE_URL or DATABASE_URL, and REDIS_URL
// when set), SOAK_NODE_ARGS (extra node options for the server, e.g. --heapsnapshot-signal=SIGUSR2 to
// take heap snapshots while it runs). Raw results in .bench/soak-results.json.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onInterrupt, processCpuMs, stop } from './lib/children.mjs';
import { createBenchDatabase, databaseCpuMeter, redact, tableStatistics } from './lib/postgres.mjs';
import { startService } from './lib/servers.mjs';
import { integerFromEnv } from './lib/settings.mjs';
import { driveClients, OPERATIONS, seedPopulation, SoakPopulation } from './lib/soak-load.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const durationSeconds = integerFromEnv('SOAK_SECONDS', 600, 10);
const settings = {
  durationSeconds,
  warmupSeconds: integerFromEnv('SOAK_WARMUP_SECONDS', Math.min(60, Math.round(durationSeconds / 10)), 0),
  windows: integerFromEnv('SOAK_WINDOWS', 10, 2),
  /** A fixed rate (operations/s), or undefined: SOAK_LOAD % of the capacity measured before the run. */
  fixedRate: process.env.SOAK_RATE ? integerFromEnv('SOAK_RATE', 0, 1) : undefined,
  loadPercent: integerFromEnv('SOAK_LOAD', 50, 1),
  calibrationSeconds: integerFromEnv('SOAK_CALIBRATION_SECONDS', 20, 1),
  users: integerFromEnv('SOAK_USERS', 16, 1),
  maxGrowthPercent: integerFromEnv('SOAK_MAX_GROWTH', 10, 0),
  database: process.env.SOAK_DATABASE || 'embedded',
  postgresUrl: process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/test',
  redisUrl: process.env.REDIS_URL || undefined,
  nodeArgs: (process.env.SOAK_NODE_ARGS ?? '').split(' ').filter(Boolean),
};
if (!['embedded', 'postgres'].includes(settings.database)) throw new Error(`SOAK_DATABASE must be embedded or postgres, got "${settings.database}"`);
if (settings.warmupSeconds >= settings.durationSeconds) throw new Error('SOAK_WARMUP_SECONDS must be shorter than SOAK_SECONDS');

const log = (message) => console.error(`[soak] ${message}`);

/** The resident set of a process, in MiB (Linux /proc; `ps` elsewhere would do the same). */
function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  return kib / 1024;
}

/**
 * The server's V8 heap in use, in MiB, from its own /metrics: RSS less this is mostly the embedded
 * database's WebAssembly memory, so a growth in RSS can be told apart from a growth of the heap.
 */
async function heapMiB(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const bytes = Number(/^personae_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1]);
  return bytes / 2 ** 20;
}

const PROBE_INPUT = randomBytes(64 * 1024);

/**
 * A fixed piece of CPU work (SHA-256 of 1.25 MiB), timed, in ms: how fast this machine's cores are
 * right now. A shared machine's speed changes by the hour (issue 12's bare route: 7,850 to 34,665
 * req/s on different hours of one day); latency that grows with this probe is the machine slowing.
 */
function probeMs() {
  const start = performance.now();
  for (let round = 0; round < 20; round++) createHash('sha256').update(PROBE_INPUT).digest();
  return performance.now() - start;
}

const percentile = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
const median = (values) => percentile([...values].sort((a, b) => a - b), 50);

function newWindow() {
  return { latencies: [], byOperation: new Map(), failures: [], rss: [], heap: [], cpu: [], databaseCpu: [], probe: [] };
}

/**
 * What the service serves right now: the soak's mix, every client sending its next operation as soon
 * as the last one answered, for `seconds`. Operations per second, and the failures among them.
 */
async function measureCapacity(population, seconds) {
  let completed = 0;
  const failures = [];
  await driveClients(population, {
    clients: settings.users,
    end: performance.now() + seconds * 1000,
    rate: 0,
    onAnswer: ({ name, outcome, failed }) => {
      completed++;
      if (failed) failures.push(`${name}: ${outcome}`);
    },
  });
  return { perSecond: completed / seconds, failures };
}

/** Runs the load and the sampler until the end; answers one record per window (index 0 is the warm-up). */
async function drive(base, pid, databaseCpu) {
  const population = new SoakPopulation(base);
  log('seeding guests, members and handles');
  await seedPopulation(population);
  let capacity;
  let rate = settings.fixedRate;
  if (rate === undefined) {
    log(`measuring capacity: ${settings.users} clients back to back for ${settings.calibrationSeconds} s`);
    capacity = await measureCapacity(population, settings.calibrationSeconds);
    rate = Math.max(1, Math.round((capacity.perSecond * settings.loadPercent) / 100));
    log(`capacity ${capacity.perSecond.toFixed(1)} op/s: soaking at ${settings.loadPercent} %, ${rate} op/s`);
  }
  const measuredMs = (settings.durationSeconds - settings.warmupSeconds) * 1000;
  const windowMs = measuredMs / settings.windows;
  const start = performance.now();
  const measureStart = start + settings.warmupSeconds * 1000;
  const end = measureStart + measuredMs;
  const windows = Array.from({ length: settings.windows + 1 }, newWindow);
  const windowAt = (time) => windows[time < measureStart ? 0 : Math.min(settings.windows, 1 + Math.floor((time - measureStart) / windowMs))];

  let samples = 0;
  /** [seconds into the measured run, RSS MiB], once a second after the warm-up. */
  const rssSeries = [];
  const sampler = setInterval(() => {
    const now = performance.now();
    const window = windowAt(now);
    const rss = rssMiB(pid);
    window.rss.push(rss);
    if (now >= measureStart) rssSeries.push([(now - measureStart) / 1000, rss]);
    if (samples++ % 5 === 0) heapMiB(base).then((mib) => window.heap.push(mib), () => undefined);
    window.cpu.push(processCpuMs(pid));
    window.probe.push(probeMs());
    databaseCpu?.sample().then((ms) => window.databaseCpu.push(ms), () => undefined);
  }, 1000);
  const progress = setInterval(() => log(`${Math.round((performance.now() - start) / 1000)} s of ${settings.durationSeconds}`), 60_000);
  const record = ({ name, began, elapsed, outcome, failed }) => {
    const window = windowAt(began);
    window.latencies.push(elapsed);
    const stats = window.byOperation.get(name) ?? { latencies: [], statuses: {} };
    stats.latencies.push(elapsed);
    stats.statuses[outcome] = (stats.statuses[outcome] ?? 0) + 1;
    window.byOperation.set(name, stats);
    if (failed) window.failures.push(`${name}: ${outcome}`);
  };

  try {
    await driveClients(population, { clients: settings.users, end, rate, onAnswer: record });
  } finally {
    clearInterval(sampler);
    clearInterval(progress);
  }
  return { windows, windowSeconds: windowMs / 1000, rssSeries, rate, capacity };
}

/**
 * Theil–Sen: the median of the slopes between every pair of points, and the median intercept for it.
 * A trend that a few outliers (a garbage collection, a stall of the virtual machine) cannot move.
 */
function trendLine(points) {
  const slopes = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j][0] - points[i][0];
      if (dx !== 0) slopes.push((points[j][1] - points[i][1]) / dx);
    }
  }
  const slope = median(slopes);
  return { slope, intercept: median(points.map(([x, y]) => y - slope * x)) };
}

/** How much the trend rises from `from` to `to`, relative to where it starts. */
function trendGrowth(points, from, to) {
  if (points.length < 2) return NaN;
  const { slope, intercept } = trendLine(points);
  return (slope * (to - from)) / (intercept + slope * from);
}

/** CPU ms per operation from a window's once-a-second cumulative samples (scaled to the seconds they span). */
function cpuPerOperation(samples, operations, seconds) {
  if (samples.length < 2) return NaN;
  return (samples[samples.length - 1] - samples[0]) / Math.max(1, operations * ((samples.length - 1) / seconds));
}

function summarize(window, seconds) {
  const sorted = [...window.latencies].sort((a, b) => a - b);
  return {
    operations: sorted.length,
    perSecond: sorted.length / seconds,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    failures: window.failures.length,
    failureSamples: [...new Set(window.failures)].slice(0, 5),
    rssMiB: median(window.rss),
    heapMiB: median(window.heap),
    // The server's CPU per operation: unlike latency, barely moved by other load on the machine.
    serverCpuMsPerOperation: cpuPerOperation(window.cpu, sorted.length, seconds),
    databaseCpuMsPerOperation: cpuPerOperation(window.databaseCpu, sorted.length, seconds),
    probeMs: median(window.probe),
    byOperation: Object.fromEntries(
      [...window.byOperation].map(([name, stats]) => {
        const own = [...stats.latencies].sort((a, b) => a - b);
        return [name, { count: own.length, p50: percentile(own, 50), p99: percentile(own, 99), statuses: stats.statuses }];
      }),
    ),
  };
}

const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const growth = (first, last) => (last - first) / first;

function report(summaries, windowSeconds, rssSeries, rate, capacity) {
  const load = capacity ? `${rate} op/s target (${settings.loadPercent} % of the ${capacity.perSecond.toFixed(1)} op/s served back to back just before)` : `${rate} op/s target (SOAK_RATE)`;
  console.log(`Soak: ${settings.database}, ${settings.durationSeconds} s (${settings.warmupSeconds} s warm-up), ${load}, ${settings.users} clients, Node ${process.version}`);
  console.log('window   from(s)   op/s    p50 ms   p95 ms   p99 ms   failed   RSS MiB   heap MiB   server CPU ms/op   database CPU ms/op   probe ms');
  summaries.forEach((summary, index) => {
    const from = index === 0 ? 0 : settings.warmupSeconds + (index - 1) * windowSeconds;
    const label = index === 0 ? 'warm-up' : String(index);
    console.log(
      [label.padEnd(7), fmt(from, 0).padStart(7), fmt(summary.perSecond).padStart(7), fmt(summary.p50).padStart(8), fmt(summary.p95).padStart(8), fmt(summary.p99).padStart(8), String(summary.failures).padStart(8), fmt(summary.rssMiB).padStart(9), fmt(summary.heapMiB).padStart(10), fmt(summary.serverCpuMsPerOperation, 2).padStart(12), fmt(summary.databaseCpuMsPerOperation, 2).padStart(18), fmt(summary.probeMs, 2).padStart(8)].join('  '),
    );
  });
  const measured = summaries.slice(1);
  const [first, last] = [measured[0], measured[measured.length - 1]];
  console.log('\nby operation over the measured windows (p50 / p99 ms of the first → last window; answers):');
  for (const { name } of OPERATIONS) {
    const a = first.byOperation[name];
    const b = last.byOperation[name];
    const statuses = {};
    for (const summary of measured) for (const [status, count] of Object.entries(summary.byOperation[name]?.statuses ?? {})) statuses[status] = (statuses[status] ?? 0) + count;
    console.log(`  ${name.padEnd(18)} ${fmt(a?.p50)} / ${fmt(a?.p99)} → ${fmt(b?.p50)} / ${fmt(b?.p99)}   ${JSON.stringify(statuses)}`);
  }
  const limit = settings.maxGrowthPercent / 100;
  // Per-window figures stand at their window's middle; the trend is read from the first middle to the last.
  const middles = measured.map((_, index) => (index + 0.5) * windowSeconds);
  const [firstMiddle, lastMiddle] = [middles[0], middles[middles.length - 1]];
  const perWindow = (key) => measured.map((summary, index) => [middles[index], summary[key]]).filter(([, y]) => Number.isFinite(y));
  const checks = [
    ['RSS', trendGrowth(rssSeries, 0, measured.length * windowSeconds), growth(first.rssMiB, last.rssMiB)],
    ['p50 latency', trendGrowth(perWindow('p50'), firstMiddle, lastMiddle), growth(first.p50, last.p50)],
    ['p99 latency', trendGrowth(perWindow('p99'), firstMiddle, lastMiddle), growth(first.p99, last.p99)],
  ].map(([name, value, endpoints]) => ({ name, growth: value, firstToLastWindow: endpoints, met: value <= limit }));
  // Failures while the capacity was measured count too: saturation is no excuse for a 5xx.
  const failures = measured.reduce((sum, summary) => sum + summary.failures, 0) + summaries[0].failures + (capacity?.failures.length ?? 0);
  console.log(`\ngrowth over the measured run, along the trend of every sample (limit +${settings.maxGrowthPercent} %):`);
  for (const check of checks) {
    const endpoints = `(first window → last: ${(check.firstToLastWindow * 100).toFixed(1)} %)`;
    console.log(`  ${check.name.padEnd(12)} ${(check.growth * 100).toFixed(1).padStart(6)} %   ${check.met ? 'MET' : 'MISSED'}   ${endpoints}`);
  }
  console.log(`  failed requests: ${failures} ${failures === 0 ? 'MET' : 'MISSED'}`);
  const heapTrend = trendGrowth(perWindow('heapMiB'), firstMiddle, lastMiddle);
  const cpuTrend = trendGrowth(perWindow('serverCpuMsPerOperation'), firstMiddle, lastMiddle);
  console.log(`  (V8 heap in use: ${(heapTrend * 100).toFixed(1)} %; RSS also holds the heap's free pages, native buffers and, embedded, the database's WebAssembly memory)`);
  console.log(`  (server CPU per operation, for reading latency on a busy machine: ${(cpuTrend * 100).toFixed(1)} %)`);
  const probeTrend = trendGrowth(perWindow('probeMs'), firstMiddle, lastMiddle);
  console.log(`  (machine speed probe, a fixed piece of CPU work timed once a second: ${(probeTrend * 100).toFixed(1)} %; CPU per operation and latency that grow with it are the machine slowing, not the service)`);
  if (Number.isFinite(first.databaseCpuMsPerOperation)) {
    console.log(`  (database CPU per operation, PostgreSQL's backends for the service: ${(trendGrowth(perWindow('databaseCpuMsPerOperation'), firstMiddle, lastMiddle) * 100).toFixed(1)} %)`);
  }
  if (failures > 0) console.log(`  e.g. ${[...new Set([...(capacity?.failures ?? []), ...summaries.flatMap((summary) => summary.failureSamples)])].slice(0, 5).join('; ')}`);
  return { checks, failures, ok: failures === 0 && checks.every((check) => check.met) };
}

async function main() {
  let database;
  let cleanup;
  let databaseCpu;
  let databaseUrl;
  if (settings.database === 'embedded') {
    const dataDir = await mkdtemp(join(tmpdir(), 'personae-soak-'));
    database = { DATA_DIR: dataDir };
    cleanup = () => rm(dataDir, { recursive: true, force: true });
  } else {
    const created = await createBenchDatabase(settings.postgresUrl);
    log(`PostgreSQL database ${created.name} on ${redact(settings.postgresUrl)}`);
    database = { DATABASE_URL: created.url, ...(settings.redisUrl ? { REDIS_URL: settings.redisUrl } : {}) };
    databaseUrl = created.url;
    databaseCpu = await databaseCpuMeter(settings.postgresUrl, created.name);
    cleanup = async () => {
      await databaseCpu.close();
      await created.drop();
    };
  }
  const forget = onInterrupt(cleanup);
  let service;
  try {
    log('starting the service (dist/main.js)');
    // One client address makes all the load: the per-client limits would stop it, not the service.
    service = await startService({ root, database: { ...database, LOGIN_ATTEMPTS_PER_CLIENT: '100000', LOGIN_ATTEMPTS_PER_ACCOUNT: '1000', LOOKUPS_PER_CLIENT: '10000000' }, nodeArgs: settings.nodeArgs });
    const base = new URL(service.url).origin;
    const { windows, windowSeconds, rssSeries, rate, capacity } = await drive(base, service.proc.child.pid, databaseCpu);
    const summaries = windows.map((window, index) => summarize(window, index === 0 ? Math.max(1, settings.warmupSeconds) : windowSeconds));
    const verdict = report(summaries, windowSeconds, rssSeries, rate, capacity);
    const tables = databaseUrl ? await tableStatistics(databaseUrl) : undefined;
    if (tables) {
      console.log('\ntables by rows read in sequential scans (live rows, dead, seq scans, rows read, index scans, KiB):');
      for (const row of tables.slice(0, 10)) console.log(`  ${row.table.padEnd(28)} ${[row.live, row.dead, row.seq_scans, row.seq_rows_read, row.index_scans, row.kib].map(String).join('  ')}`);
    }
    const resultsPath = join(root, '.bench/soak-results.json');
    await mkdir(join(root, '.bench'), { recursive: true });
    const results = { date: new Date().toISOString(), node: process.version, settings: { ...settings, postgresUrl: redact(settings.postgresUrl) }, rate, capacity, windows: summaries, verdict, tables };
    await writeFile(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
    process.exitCode = verdict.ok ? 0 : 1;
  } finally {
    if (service) await stop(service.proc);
    await cleanup();
    forget();
  }
}

await main();

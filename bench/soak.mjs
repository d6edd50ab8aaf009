// npm run soak: the service under a steady mixed load for SOAK_SECONDS (600), sampling latency
// percentiles and the server's RSS over time; fails when either grew by more than SOAK_MAX_GROWTH
// percent (10) over the measured run, or when any request failed (5xx, dropped). Growth is read off a
// robust trend line (Theil–Sen) through every sample, not from two windows: RSS swings ±5 % with the
// garbage collector and latency with the machine, and two points of a swing look like growth or its end.
// Latency is judged against a twin (bench/lib/soak-twin.mjs): a second copy of the service under the
// same load in the same seconds, restarted on its seeded data at the start of every window, so it
// never ages and its data never grows. A shared machine's speed drifts within ten minutes by more
// than the limit (issue 12's soaks: −21 % to +22 % at the median), for both alike; the soaked service's latency
// divided by the twin's keeps what its own age and data add. The raw trend is printed beside it.
// On PostgreSQL it also reads the CPU the server's backends spend for the service's database (when
// the server runs on this machine), since the service's own CPU leaves out the work its queries cause.
// The load is steady, at half of what the service can serve on this machine right now: before the
// run, the same mix is sent back to back for a while (the capacity, with the twin loaded beside it),
// and the soak asks for SOAK_LOAD percent of it, for each of the two. A fixed rate meant a different
// load on every hour of a machine whose speed moves twofold, and near saturation latency measures the
// queue, not the service. Not part of CI.
//
// Knobs: SOAK_SECONDS (600), SOAK_WARMUP_SECONDS (a tenth of the run, at most 60), SOAK_WINDOWS (10),
// SOAK_LOAD (% of the measured capacity, 50), SOAK_CALIBRATION_SECONDS (20), SOAK_RATE (operations/s
// for each: a fixed rate instead, no calibration), SOAK_USERS (concurrent clients of each, 16),
// SOAK_MAX_GROWTH (%, 10), SOAK_TWIN (1; 0 judges the raw latency, with no twin), SOAK_DATABASE
// (embedded | postgres; postgres uses BENCH_DATABASE_URL or DATABASE_URL, and REDIS_URL when set),
// SOAK_NODE_ARGS (extra node options for the soaked server, not the twin, e.g.
// --heapsnapshot-signal=SIGUSR2 to take heap snapshots while it runs). Raw results in
// .bench/soak-results.json.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { onInterrupt, processCpuMs, stop } from './lib/children.mjs';
import { createBenchDatabase, databaseCpuMeter, redact, tableStatistics } from './lib/postgres.mjs';
import { serviceSecrets, startService } from './lib/servers.mjs';
import { integerFromEnv } from './lib/settings.mjs';
import { driveClients, OPERATIONS, seedPopulation, SoakPopulation, UNLIMITED_CLIENT_LIMITS } from './lib/soak-load.mjs';
import { embeddedTwinData, postgresTwinData, SoakTwin } from './lib/soak-twin.mjs';

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
  twin: process.env.SOAK_TWIN !== '0',
  database: process.env.SOAK_DATABASE || 'embedded',
  postgresUrl: process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/test',
  redisUrl: process.env.REDIS_URL || undefined,
  nodeArgs: (process.env.SOAK_NODE_ARGS ?? '').split(' ').filter(Boolean),
};
if (!['embedded', 'postgres'].includes(settings.database)) throw new Error(`SOAK_DATABASE must be embedded or postgres, got "${settings.database}"`);
if (settings.warmupSeconds >= settings.durationSeconds) throw new Error('SOAK_WARMUP_SECONDS must be shorter than SOAK_SECONDS');
// The twin restarts with every window and is measured only once settled: each window must leave it time to serve.
const measuredWindowSeconds = (settings.durationSeconds - settings.warmupSeconds) / settings.windows;
if (settings.twin && measuredWindowSeconds < 30) throw new Error(`windows of ${measuredWindowSeconds.toFixed(1)} s are too short for the twin (at least 30 s): fewer SOAK_WINDOWS, a longer SOAK_SECONDS, or SOAK_TWIN=0`);

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

const percentile = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
const median = (values) => percentile([...values].sort((a, b) => a - b), 50);

function newWindow() {
  return { latencies: [], byOperation: new Map(), failures: [], rss: [], heap: [], cpu: [], databaseCpu: [], twin: { latencies: [], cpuMsPerOperation: NaN } };
}

/**
 * What the service serves right now: the soak's mix, every client sending its next operation as soon
 * as the last one answered, for `seconds`, with the twin (when there is one) loaded alike beside it.
 * The soaked service's operations per second, and the failures of both.
 */
async function measureCapacity(population, twin, seconds) {
  let completed = 0;
  const failures = [];
  const end = performance.now() + seconds * 1000;
  const backToBack = (target, onAnswer) => driveClients(target, { clients: settings.users, end, rate: 0, onAnswer });
  await Promise.all([
    backToBack(population, ({ name, outcome, failed }) => {
      completed++;
      if (failed) failures.push(`${name}: ${outcome}`);
    }),
    twin &&
      backToBack(twin.population, ({ name, began, outcome, failed }) => {
        if (twin.counts(began) && failed) failures.push(`twin ${name}: ${outcome}`);
      }),
  ]);
  return { perSecond: completed / seconds, failures };
}

/** Restarts the twin at each of `times` (`performance.now()` times), and files its CPU per operation under the window it closes. */
async function restartTwinAt(twin, times, windowAt) {
  for (const time of times) {
    await sleep(time - performance.now());
    const cpuMsPerOperation = await twin.restart();
    if (time > times[0]) windowAt(time - 1).twin.cpuMsPerOperation = cpuMsPerOperation;
  }
}

/** Runs the load and the sampler until the end; answers one record per window (index 0 is the warm-up). */
async function drive(base, pid, twin, databaseCpu) {
  const population = new SoakPopulation(base);
  log('seeding guests, members and handles');
  await seedPopulation(population);
  if (twin) {
    log('seeding the twin');
    await twin.seed();
    await twin.restart();
    await sleep(SoakTwin.SETTLE_MS);
  }
  let capacity;
  let rate = settings.fixedRate;
  if (rate === undefined) {
    log(`measuring capacity: ${settings.users} clients back to back for ${settings.calibrationSeconds} s${twin ? ', the twin alike beside it' : ''}`);
    capacity = await measureCapacity(population, twin, settings.calibrationSeconds);
    rate = Math.max(1, Math.round((capacity.perSecond * settings.loadPercent) / 100));
    log(`capacity ${capacity.perSecond.toFixed(1)} op/s: soaking at ${settings.loadPercent} %, ${rate} op/s${twin ? ' each' : ''}`);
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
  const recordTwin = ({ name, began, elapsed, outcome, failed }) => {
    if (!twin.counts(began)) return;
    const window = windowAt(began);
    window.twin.latencies.push(elapsed);
    if (failed) window.failures.push(`twin ${name}: ${outcome}`);
  };

  try {
    // The twin starts afresh with the warm-up and with every window, on the seeded data.
    const restarts = twin && restartTwinAt(twin, [start, ...windows.slice(1).map((_, index) => measureStart + index * windowMs)], windowAt);
    await Promise.all([
      driveClients(population, { clients: settings.users, end, rate, onAnswer: record }),
      twin && driveClients(twin.population, { clients: settings.users, end, rate, onAnswer: recordTwin }),
      restarts,
    ]);
    if (twin) windows[settings.windows].twin.cpuMsPerOperation = await twin.finish();
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

/** The twin's latency and CPU per operation in a window: NaN without a twin. */
function summarizeTwin({ latencies, cpuMsPerOperation }) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { operations: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), cpuMsPerOperation };
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
    twin: summarizeTwin(window.twin),
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
  const each = settings.twin ? ', for the service and for its twin' : '';
  const load = capacity ? `${rate} op/s target${each} (${settings.loadPercent} % of the ${capacity.perSecond.toFixed(1)} op/s served back to back just before)` : `${rate} op/s target${each} (SOAK_RATE)`;
  console.log(`Soak: ${settings.database}, ${settings.durationSeconds} s (${settings.warmupSeconds} s warm-up), ${load}, ${settings.users} clients, Node ${process.version}`);
  console.log('window   from(s)   op/s    p50 ms   p95 ms   p99 ms   failed   RSS MiB   heap MiB   CPU ms/op   db CPU ms/op   twin: p50 ms   p99 ms   CPU ms/op   p50 ÷ twin   p99 ÷ twin');
  summaries.forEach((summary, index) => {
    const from = index === 0 ? 0 : settings.warmupSeconds + (index - 1) * windowSeconds;
    const label = index === 0 ? 'warm-up' : String(index);
    const { twin } = summary;
    console.log(
      [label.padEnd(7), fmt(from, 0).padStart(7), fmt(summary.perSecond).padStart(7), fmt(summary.p50).padStart(8), fmt(summary.p95).padStart(8), fmt(summary.p99).padStart(8), String(summary.failures).padStart(8), fmt(summary.rssMiB).padStart(9), fmt(summary.heapMiB).padStart(10), fmt(summary.serverCpuMsPerOperation, 2).padStart(10), fmt(summary.databaseCpuMsPerOperation, 2).padStart(13), fmt(twin.p50).padStart(13), fmt(twin.p99).padStart(8), fmt(twin.cpuMsPerOperation, 2).padStart(10), fmt(summary.p50 / twin.p50, 3).padStart(11), fmt(summary.p99 / twin.p99, 3).padStart(11)].join('  '),
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
  const series = (valueOf) => measured.map((summary, index) => [middles[index], valueOf(summary)]).filter(([, y]) => Number.isFinite(y));
  const trend = (valueOf) => trendGrowth(series(valueOf), firstMiddle, lastMiddle);
  /** A latency as judged: against the twin's in the same window, or raw without a twin. */
  const judged = (key) => (summary) => (settings.twin ? summary[key] / summary.twin[key] : summary[key]);
  const versus = settings.twin ? ' ÷ twin' : '';
  const checks = [
    ['RSS', trendGrowth(rssSeries, 0, measured.length * windowSeconds), growth(first.rssMiB, last.rssMiB)],
    [`p50${versus}`, trend(judged('p50')), growth(judged('p50')(first), judged('p50')(last))],
    [`p99${versus}`, trend(judged('p99')), growth(judged('p99')(first), judged('p99')(last))],
  ].map(([name, value, endpoints]) => ({ name, growth: value, firstToLastWindow: endpoints, met: value <= limit }));
  // Failures while the capacity was measured count too: saturation is no excuse for a 5xx.
  const failures = measured.reduce((sum, summary) => sum + summary.failures, 0) + summaries[0].failures + (capacity?.failures.length ?? 0);
  console.log(`\ngrowth over the measured run, along the trend of every sample (limit +${settings.maxGrowthPercent} %):`);
  for (const check of checks) {
    const endpoints = `(first window → last: ${(check.firstToLastWindow * 100).toFixed(1)} %)`;
    console.log(`  ${check.name.padEnd(12)} ${(check.growth * 100).toFixed(1).padStart(6)} %   ${check.met ? 'MET' : 'MISSED'}   ${endpoints}`);
  }
  console.log(`  failed requests: ${failures} ${failures === 0 ? 'MET' : 'MISSED'}`);
  const percent = (value) => `${(value * 100).toFixed(1)} %`;
  console.log(`  (V8 heap in use: ${percent(trend((summary) => summary.heapMiB))}; RSS also holds the heap's free pages, native buffers and, embedded, the database's WebAssembly memory)`);
  if (settings.twin) {
    console.log(`  (raw, with the machine's drift in it: p50 ${percent(trend((summary) => summary.p50))}, p99 ${percent(trend((summary) => summary.p99))}; the twin's own p50 ${percent(trend((summary) => summary.twin.p50))}, p99 ${percent(trend((summary) => summary.twin.p99))})`);
    console.log(`  (server CPU per operation: ${percent(trend((summary) => summary.serverCpuMsPerOperation))}, ÷ twin ${percent(trend((summary) => summary.serverCpuMsPerOperation / summary.twin.cpuMsPerOperation))})`);
  } else {
    console.log(`  (server CPU per operation, for reading latency on a busy machine: ${percent(trend((summary) => summary.serverCpuMsPerOperation))})`);
  }
  if (Number.isFinite(first.databaseCpuMsPerOperation)) {
    console.log(`  (database CPU per operation, PostgreSQL's backends for the service: ${percent(trend((summary) => summary.databaseCpuMsPerOperation))})`);
  }
  if (failures > 0) console.log(`  e.g. ${[...new Set([...(capacity?.failures ?? []), ...summaries.flatMap((summary) => summary.failureSamples)])].slice(0, 5).join('; ')}`);
  return { checks, failures, ok: failures === 0 && checks.every((check) => check.met) };
}

async function main() {
  let database;
  let cleanup;
  let databaseCpu;
  let databaseUrl;
  let twinData;
  if (settings.database === 'embedded') {
    const dataDir = await mkdtemp(join(tmpdir(), 'personae-soak-'));
    database = { DATA_DIR: dataDir };
    if (settings.twin) twinData = await embeddedTwinData();
    cleanup = () => Promise.all([rm(dataDir, { recursive: true, force: true }), twinData?.cleanup()]);
  } else {
    const created = await createBenchDatabase(settings.postgresUrl);
    log(`PostgreSQL database ${created.name} on ${redact(settings.postgresUrl)}`);
    database = { DATABASE_URL: created.url, ...(settings.redisUrl ? { REDIS_URL: settings.redisUrl } : {}) };
    databaseUrl = created.url;
    databaseCpu = await databaseCpuMeter(settings.postgresUrl, created.name);
    if (settings.twin) twinData = await postgresTwinData(settings.postgresUrl);
    cleanup = async () => {
      await databaseCpu.close();
      await created.drop();
      await twinData?.cleanup();
    };
  }
  const forget = onInterrupt(cleanup);
  let service;
  try {
    log('starting the service (dist/main.js)');
    service = await startService({ root, database: { ...database, ...UNLIMITED_CLIENT_LIMITS }, nodeArgs: settings.nodeArgs });
    const base = new URL(service.url).origin;
    // Its secrets stay the same through its restarts: the cookies and emails of the seeded population.
    // Its table maintenance runs within each window, as the soaked service's runs once a minute (a
    // process restarted every window would otherwise never run the first round, due after 60 s).
    const twinEnv = { ...serviceSecrets(), ...UNLIMITED_CLIENT_LIMITS, TABLE_MAINTENANCE_INTERVAL_SECONDS: '30' };
    const twin = twinData && new SoakTwin({ root, data: twinData, env: twinEnv });
    const { windows, windowSeconds, rssSeries, rate, capacity } = await drive(base, service.proc.child.pid, twin, databaseCpu);
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

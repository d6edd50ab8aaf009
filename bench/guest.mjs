// npm run bench (guest part): guest creation (`POST /session` without a cookie: a new account, profile,
// persona and session per request) against Better Auth's anonymous sign-in on the same PostgreSQL and
// against a bare route that keeps guests in a Map; then the embedded database's first start, second
// start and idle memory. Ratios come from one run, servers loaded back to back, so they share the
// machine's state; absolute figures move with whatever else the machine runs.
//
// Knobs: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 3), BENCH_CONNECTIONS (50),
// BENCH_DATABASES (embedded,postgres), BENCH_DATABASE_URL or DATABASE_URL (PostgreSQL admin URL),
// BENCH_REPEAT (1: whole measurement rounds, to see the noise).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, onInterrupt, processCpuMs, startNode, stop, waitReady } from './lib/children.mjs';
import { measure } from './lib/load.mjs';
import { createBenchDatabase, redact } from './lib/postgres.mjs';
import { newSecret, serviceEnv, startScriptNodeArgs } from './lib/servers.mjs';
import { integerFromEnv } from './lib/settings.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsPath = join(root, '.bench/guest-results.json');
const log = (message) => console.error(`[bench:guest] ${message}`);

const settings = {
  durationSeconds: integerFromEnv('BENCH_DURATION', 10, 1),
  warmupSeconds: integerFromEnv('BENCH_WARMUP', 3, 0),
  connections: integerFromEnv('BENCH_CONNECTIONS', 50, 1),
  repeat: integerFromEnv('BENCH_REPEAT', 1, 1),
  cpus: availableParallelism(),
  databases: (process.env.BENCH_DATABASES || 'embedded,postgres').split(',').map((name) => name.trim()),
  postgresUrl: process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/test',
};

/** The goals. */
export const GOALS = Object.freeze({ peerRatio: 5, p99Ms: 100, firstStartMs: 5000, idleRssMb: 300 });

const load = { connections: settings.connections, warmupSeconds: settings.warmupSeconds, durationSeconds: settings.durationSeconds };
/** No cookie: every request is a new visitor, so every request creates a guest. */
const guestLoad = (url, serverPid) => measure({ ...load, url, method: 'POST', headers: {}, serverPid });

/** The service from dist/, started as `npm start` does, timed from spawn to its first 200 on /readyz. */
async function startTimedService(database) {
  const port = await freePort();
  const started = performance.now();
  const proc = startNode(join(root, 'dist/main.js'), { env: serviceEnv(port, database), nodeArgs: startScriptNodeArgs(root), name: 'personae (dist/main.js)' });
  try {
    await waitReady(proc, `http://127.0.0.1:${port}/readyz`, 120_000, 50);
  } catch (error) {
    await stop(proc);
    throw error;
  }
  const startMs = performance.now() - started;
  return { proc, base: `http://127.0.0.1:${port}`, startMs, startCpuMs: processCpuMs(proc.child.pid) };
}

/** Resident memory of a process (Linux), in MB. */
async function rssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** RSS once the process has sat idle for a few seconds (start-up garbage collected, nothing in flight). */
async function idleRssMb(pid) {
  await new Promise((resolve) => setTimeout(resolve, 5000));
  return rssMb(pid);
}

async function startBareServer() {
  const port = await freePort();
  const proc = startNode(join(root, 'bench/bare-server.mjs'), {
    env: { PORT: String(port), HOST: '127.0.0.1', COOKIE_SECRET: newSecret(), NODE_ENV: 'production' },
    name: 'bare server (bench/bare-server.mjs)',
  });
  await waitReady(proc, `http://127.0.0.1:${port}/readyz`);
  return { proc, url: `http://127.0.0.1:${port}/session` };
}

async function startBetterAuth(databaseUrl) {
  const port = await freePort();
  const proc = startNode(join(root, 'bench/better-auth-server.mjs'), {
    env: { PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, AUTH_SECRET: newSecret(), NODE_ENV: 'production' },
    name: 'Better Auth (bench/better-auth-server.mjs)',
  });
  await waitReady(proc, `http://127.0.0.1:${port}/readyz`, 60_000);
  return { proc, url: `http://127.0.0.1:${port}/api/auth/sign-in/anonymous` };
}

/** Better Auth's anonymous sign-in: a JSON POST, no cookie, so every request makes a new user. */
function peerLoad(url, serverPid) {
  return measure({ ...load, url, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', serverPid });
}

/** Embedded: first start on an empty data folder (with its idle RSS), then guest creation, then a second start. */
async function embeddedRound() {
  const dataDir = await mkdtemp(join(tmpdir(), 'personae-bench-guest-'));
  const forget = onInterrupt(() => rm(dataDir, { recursive: true, force: true }));
  try {
    log('embedded: first start on an empty data folder');
    const first = await startTimedService({ DATA_DIR: dataDir });
    let guests;
    const firstIdleRss = await idleRssMb(first.proc.child.pid);
    try {
      log('embedded: loading POST /session');
      guests = (await guestLoad(`${first.base}/session`, first.proc.child.pid)).summary;
    } finally {
      await stop(first.proc);
    }
    log('embedded: second start');
    const second = await startTimedService({ DATA_DIR: dataDir });
    const secondIdleRss = await idleRssMb(second.proc.child.pid);
    await stop(second.proc);
    return {
      guests,
      start: {
        firstMs: first.startMs,
        firstCpuMs: first.startCpuMs,
        secondMs: second.startMs,
        secondCpuMs: second.startCpuMs,
        firstIdleRssMb: firstIdleRss,
        secondIdleRssMb: secondIdleRss,
      },
    };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    forget();
  }
}

async function postgresRound() {
  const service = await createBenchDatabase(settings.postgresUrl);
  const peer = await createBenchDatabase(settings.postgresUrl);
  const forget = onInterrupt(() => Promise.allSettled([service.drop(), peer.drop()]));
  try {
    log('PostgreSQL: loading POST /session');
    const started = await startTimedService({ DATABASE_URL: service.url });
    let guests;
    try {
      guests = (await guestLoad(`${started.base}/session`, started.proc.child.pid)).summary;
    } finally {
      await stop(started.proc);
    }
    log('PostgreSQL: loading Better Auth\'s anonymous sign-in');
    const betterAuth = await startBetterAuth(peer.url);
    try {
      return { guests, betterAuth: (await peerLoad(betterAuth.url, betterAuth.proc.child.pid)).summary };
    } finally {
      await stop(betterAuth.proc);
    }
  } finally {
    await Promise.allSettled([service.drop(), peer.drop()]);
    forget();
  }
}

async function round(index) {
  const result = { round: index + 1 };
  log(`round ${index + 1}: bare guest route`);
  const bare = await startBareServer();
  try {
    result.bare = (await guestLoad(bare.url, bare.proc.child.pid)).summary;
  } finally {
    await stop(bare.proc);
  }
  if (settings.databases.includes('postgres')) {
    try {
      Object.assign(result, { postgres: await postgresRound() });
    } catch (error) {
      log(`PostgreSQL: skipped: ${error.message}`);
      result.postgres = { skipped: `${redact(settings.postgresUrl)}: ${error.message}` };
    }
  }
  if (settings.databases.includes('embedded')) result.embedded = await embeddedRound();
  return result;
}

const fmt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const times = (n) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a');
const failures = (r) => r.non2xx + r.errors + r.timeouts;
const verdict = (met) => (met ? 'MET' : 'MISSED');

function renderRound(r) {
  const peer = r.postgres?.betterAuth;
  const lines = [`Round ${r.round}`];
  const line = (label, s, extra = '') =>
    lines.push(
      `  ${label.padEnd(34)} ${fmt(s.rps).padStart(7)} req/s   p50 ${String(s.p50).padStart(4)} ms   p99 ${String(s.p99).padStart(5)} ms   ` +
        `failed ${failures(s)}   server CPU ${fmt(s.serverCpuUsPerRequest)} µs/req${extra}`,
    );
  line('bare guest route (Map, no database)', r.bare);
  if (peer) line('Better Auth anonymous (PostgreSQL)', peer);
  for (const [key, label] of [['embedded', 'POST /session, embedded (PGlite)'], ['postgres', 'POST /session, PostgreSQL']]) {
    const guests = r[key]?.guests;
    if (!guests) continue;
    const vsPeer = peer ? guests.rps / peer.rps : Number.NaN;
    // Steadier than req/s when other work shares the cores: how many of our guests one of theirs costs.
    const cpuVsPeer = peer ? peer.serverCpuUsPerRequest / guests.serverCpuUsPerRequest : Number.NaN;
    line(label, guests,
      `   ${times(vsPeer)} Better Auth (goal ≥ ${GOALS.peerRatio}×: ${verdict(vsPeer >= GOALS.peerRatio)}; by server CPU ${times(cpuVsPeer)}), ` +
        `${(100 * guests.rps / r.bare.rps).toFixed(0)}% of bare; p99 < ${GOALS.p99Ms} ms: ${verdict(guests.p99 < GOALS.p99Ms)}`);
  }
  if (r.postgres?.skipped) lines.push(`  PostgreSQL: skipped (${r.postgres.skipped})`);
  const start = r.embedded?.start;
  if (start) {
    lines.push(
      `  embedded first start ${fmt(start.firstMs)} ms (goal ≤ ${fmt(GOALS.firstStartMs)}: ${verdict(start.firstMs <= GOALS.firstStartMs)}; ` +
        `${fmt(start.firstCpuMs)} ms of CPU), second start ${fmt(start.secondMs)} ms (${fmt(start.secondCpuMs)} ms of CPU)`,
      `  embedded idle RSS after first start ${fmt(start.firstIdleRssMb)} MB, after second ${fmt(start.secondIdleRssMb)} MB ` +
        `(goal ≤ ${GOALS.idleRssMb}: ${verdict(Math.max(start.firstIdleRssMb, start.secondIdleRssMb) <= GOALS.idleRssMb)})`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const rounds = [];
  for (let i = 0; i < settings.repeat; i++) rounds.push(await round(i));
  const { postgresUrl, ...printable } = settings;
  await mkdir(dirname(resultsPath), { recursive: true });
  await writeFile(resultsPath, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, settings: { ...printable, postgresUrl: redact(postgresUrl) }, goals: GOALS, rounds }, null, 2)}\n`);
  const header =
    `Guest creation (POST /session, no cookie) vs Better Auth ${'1.7.25'} anonymous sign-in and a bare route: ${settings.connections} connections, ` +
    `${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s (Node ${process.version}, ${settings.cpus} CPUs)`;
  const note =
    'The server CPU column is the service process alone: on PostgreSQL and for Better Auth the database works in another ' +
    'process, on the embedded database inside it. Wall-clock start times include waiting for a core on a busy machine.';
  console.log(`\n${header}\n\n${rounds.map(renderRound).join('\n\n')}\n\n${note}\n\nRaw results: ${resultsPath}`);
}

try {
  await main();
} catch (error) {
  console.error(`[bench:guest] failed: ${error.stack || error}`);
  process.exitCode = 1;
}

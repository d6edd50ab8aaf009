// npm run bench (second part): registration and login throughput, the share of their time spent in
// argon2, and GET /session's p99 while a login storm runs (target: within 3× of its idle p99, because
// password hashing must not block the event loop).
//
// Knobs: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 3), BENCH_AUTH_CONNECTIONS (16: argon2-bound routes
// saturate with few), BENCH_SESSION_CONNECTIONS (10), BENCH_DATABASES (embedded,postgres),
// BENCH_DATABASE_URL or DATABASE_URL.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hash } from '@node-rs/argon2';
import { integerFromEnv } from './lib/settings.mjs';
import { onInterrupt, startNode, stop } from './lib/children.mjs';
import { loadJson, measure } from './lib/load.mjs';
import { createBenchDatabase, redact } from './lib/postgres.mjs';
import { startService } from './lib/servers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsPath = join(root, '.bench/auth-results.json');
const log = (message) => console.error(`[bench:auth] ${message}`);

const settings = {
  durationSeconds: integerFromEnv('BENCH_DURATION', 10, 1),
  warmupSeconds: integerFromEnv('BENCH_WARMUP', 3, 0),
  authConnections: integerFromEnv('BENCH_AUTH_CONNECTIONS', 16, 1),
  sessionConnections: integerFromEnv('BENCH_SESSION_CONNECTIONS', 10, 1),
  cpus: availableParallelism(),
  databases: (process.env.BENCH_DATABASES || 'embedded,postgres').split(',').map((name) => name.trim()),
  postgresUrl: process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/test',
};
/** Target: GET /session p99 under a login storm stays within this multiple of its idle p99. */
const MAX_STORM_P99_RATIO = 3;
/** The service's argon2id defaults (OWASP's floor): the ceiling below is measured with the same. */
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const PASSWORD = 'correct horse battery staple, bench edition';
/**
 * The limiter is the subject of tests, not of this benchmark: a bench client is one address hammering
 * one route, which the production limits would (rightly) stop after a few dozen attempts.
 */
const UNLIMITED = { LOGIN_ATTEMPTS_PER_CLIENT: '100000', LOGIN_ATTEMPTS_PER_ACCOUNT: '1000' };

/** The service's default: it hashes on all cores but one, keeping a core for the event loop. */
const HASHING_CONCURRENCY = Math.max(1, availableParallelism() - 1);

/**
 * argon2id alone, in this process, as many at once as the service runs: the most sign-ups or
 * sign-ins per second the service could answer if nothing but hashing cost anything.
 */
async function argon2Ceiling(seconds) {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      await hash(PASSWORD, ARGON2);
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: HASHING_CONCURRENCY }, worker));
  return done / ((performance.now() - started) / 1000);
}

/** Sum and count of the service's password-hashing histogram, read from /metrics (null if absent). */
async function hashingMetric(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const sum = /^personae_password_hashing_seconds_sum(?:\{[^}]*\})? ([\d.e+-]+)$/m.exec(text);
  const count = /^personae_password_hashing_seconds_count(?:\{[^}]*\})? (\d+)$/m.exec(text);
  return sum && count ? { sum: Number(sum[1]), count: Number(count[1]) } : null;
}

let emailCounter = 0;
const uniqueEmail = (tag) => `bench-${tag}-${process.pid}-${Date.now().toString(36)}-${emailCounter++}@example.org`;
const registrationBody = () =>
  JSON.stringify({ email: uniqueEmail('r'), password: PASSWORD, initialDisplayName: `Bench ${emailCounter} ${Math.random().toString(36).slice(2, 8)}` });

async function register(base) {
  const body = { email: uniqueEmail('l'), password: PASSWORD, initialDisplayName: `Login ${emailCounter} ${Math.random().toString(36).slice(2, 8)}` };
  const response = await fetch(`${base}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status !== 201) throw new Error(`POST /auth/register answered ${response.status}: ${await response.text()}`);
  return { email: body.email, password: PASSWORD };
}

/** Throughput of one argon2-bound route, with the hashing histogram read around the measured run. */
async function measureAuthRoute(base, serverPid, path, bodies) {
  const result = await loadJson({
    url: `${base}${path}`,
    connections: settings.authConnections,
    warmupSeconds: settings.warmupSeconds,
    durationSeconds: settings.durationSeconds,
    serverPid,
    nextBody: bodies,
    metricBefore: () => hashingMetric(base),
  });
  const after = await hashingMetric(base);
  const hashing = after && result.metricAtStart
    ? { seconds: after.sum - result.metricAtStart.sum, hashes: after.count - result.metricAtStart.count }
    : null;
  return { ...result.summary, hashing };
}

/** GET /session of a started visitor, alone and then while another process storms POST /auth/login. */
async function sessionUnderStorm(service, accounts) {
  const sessionLoad = {
    url: service.url,
    cookie: service.cookie,
    serverPid: service.proc.child.pid,
    connections: settings.sessionConnections,
    warmupSeconds: settings.warmupSeconds,
    durationSeconds: settings.durationSeconds,
  };
  const idle = (await measure(sessionLoad)).summary;
  const storm = startNode(join(root, 'bench/lib/login-storm.mjs'), {
    env: {
      STORM_URL: service.url.replace(/\/session$/, '/auth/login'),
      STORM_ACCOUNTS: JSON.stringify(accounts),
      STORM_CONNECTIONS: String(settings.authConnections),
      STORM_SECONDS: String(settings.warmupSeconds + settings.durationSeconds + 2),
    },
    name: 'login storm',
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000)); // let the storm reach full strength
    const underStorm = (await measure(sessionLoad)).summary;
    return { idle, underStorm, ratio: underStorm.p99 / Math.max(idle.p99, 1) };
  } finally {
    await stop(storm);
  }
}

async function runOn(label, database) {
  log(`${label}: argon2id alone (${HASHING_CONCURRENCY} at a time, 5 s)`);
  const ceiling = await argon2Ceiling(5);
  log(`${label}: starting the service`);
  const service = await startService({ root, database: { ...database, ...UNLIMITED } });
  const base = service.url.replace(/\/session$/, '');
  try {
    log(`${label}: POST /auth/register`);
    const registration = await measureAuthRoute(base, service.proc.child.pid, '/auth/register', registrationBody);
    log(`${label}: registering login accounts`);
    const accounts = [];
    for (let i = 0; i < 32; i++) accounts.push(await register(base));
    let next = 0;
    const loginBody = () => JSON.stringify(accounts[next++ % accounts.length]);
    log(`${label}: POST /auth/login`);
    const login = await measureAuthRoute(base, service.proc.child.pid, '/auth/login', loginBody);
    log(`${label}: GET /session idle, then under a login storm`);
    const storm = await sessionUnderStorm(service, accounts);
    return { label, ceiling, registration, login, storm };
  } finally {
    await stop(service.proc);
  }
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const pct = (n) => `${(n * 100).toFixed(0)}%`;

function argon2Share(route, ceiling) {
  // Two views: throughput against argon2 alone, and the share of the server's CPU time spent hashing
  // (each hash keeps one core busy for as long as the histogram says it ran).
  const byThroughput = route.rps / ceiling;
  const serverCpuSeconds = (route.serverCpuUsPerRequest * route.requests) / 1e6;
  const byCpu = route.hashing && serverCpuSeconds > 0 ? route.hashing.seconds / serverCpuSeconds : Number.NaN;
  return `${pct(byThroughput)} of argon2's own rate; argon2 is ${Number.isNaN(byCpu) ? 'n/a' : pct(byCpu)} of the server's CPU time`;
}

function render(runs) {
  const lines = [
    `Sign-up and sign-in: ${settings.authConnections} connections on the auth routes, ${settings.sessionConnections} on GET /session, ` +
      `${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s (Node ${process.version}, ${settings.cpus} CPUs)`,
    '',
  ];
  for (const run of runs) {
    if (run.skipped) {
      lines.push(`${run.label}: skipped (${run.skipped})`);
      continue;
    }
    const { ceiling, registration, login, storm } = run;
    const failures = (r) => r.non2xx + r.errors + r.timeouts;
    lines.push(
      `${run.label}`,
      `  argon2id alone (m=19456 KiB, t=2, p=1, ${HASHING_CONCURRENCY} at a time, as the service): ${fmt(ceiling)} hashes/s`,
      `  POST /auth/register: ${fmt(registration.rps)} req/s, p50 ${registration.p50} ms, p99 ${registration.p99} ms, failed ${failures(registration)}; ${argon2Share(registration, ceiling)}`,
      `  POST /auth/login:    ${fmt(login.rps)} req/s, p50 ${login.p50} ms, p99 ${login.p99} ms, failed ${failures(login)}; ${argon2Share(login, ceiling)}`,
      `  GET /session p99: idle ${storm.idle.p99} ms (${fmt(storm.idle.rps)} req/s), during a login storm ${storm.underStorm.p99} ms ` +
        `(${fmt(storm.underStorm.rps)} req/s): ${storm.ratio.toFixed(1)}× idle, target ≤ ${MAX_STORM_P99_RATIO}×: ` +
        `${storm.ratio <= MAX_STORM_P99_RATIO ? 'MET' : 'MISSED'}` +
        (failures(storm.underStorm) > 0 ? ` (WARNING: ${failures(storm.underStorm)} failed requests)` : ''),
    );
  }
  return lines.join('\n');
}

async function main() {
  const runs = [];
  for (const name of settings.databases) {
    try {
      if (name === 'embedded') {
        const dataDir = await mkdtemp(join(tmpdir(), 'personae-bench-auth-'));
        const forget = onInterrupt(() => rm(dataDir, { recursive: true, force: true }));
        try {
          runs.push(await runOn('embedded (PGlite)', { DATA_DIR: dataDir }));
        } finally {
          await rm(dataDir, { recursive: true, force: true });
          forget();
        }
      } else if (name === 'postgres') {
        let database;
        try {
          database = await createBenchDatabase(settings.postgresUrl);
        } catch (error) {
          runs.push({ label: 'PostgreSQL', skipped: `${redact(settings.postgresUrl)} not usable: ${error.message}` });
          continue;
        }
        const forget = onInterrupt(() => database.drop());
        try {
          runs.push(await runOn('PostgreSQL', { DATABASE_URL: database.url }));
        } finally {
          await database.drop().catch(() => undefined);
          forget();
        }
      } else {
        throw new Error(`BENCH_DATABASES: unknown database "${name}" (embedded, postgres)`);
      }
    } catch (error) {
      process.exitCode = 1;
      log(`${name}: failed: ${error.stack || error}`);
      runs.push({ label: name, skipped: `failed: ${error.message}` });
    }
  }
  const { postgresUrl, ...printable } = settings;
  await mkdir(dirname(resultsPath), { recursive: true });
  const results = { date: new Date().toISOString(), node: process.version, settings: { ...printable, postgresUrl: redact(postgresUrl) }, runs };
  await writeFile(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\n${render(runs)}\n\nRaw results: ${resultsPath}`);
}

try {
  await main();
} catch (error) {
  console.error(`[bench:auth] failed: ${error.stack || error}`);
  process.exitCode = 1;
}

// npm run bench:move: how long a move between territories takes (POST /api/v2/federation/moves:
// start, copy, switch, retire), median and p95 over BENCH_MOVES people, each moved once, on the
// embedded database (PGlite) and on PostgreSQL. The built service runs as a child process.
//
// Knobs: BENCH_MOVES (30), BENCH_DATABASES
// (embedded,postgres), BENCH_DATABASE_URL or DATABASE_URL (PostgreSQL admin URL).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integerFromEnv } from './lib/settings.mjs';
import { onInterrupt, stop } from './lib/children.mjs';
import { createBenchDatabase, redact } from './lib/postgres.mjs';
import { newSecret, startService } from './lib/servers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsPath = join(root, '.bench/move-results.json');
const log = (message) => console.error(`[bench:move] ${message}`);

const settings = {
  moves: integerFromEnv('BENCH_MOVES', 30, 1),
  databases: (process.env.BENCH_DATABASES || 'embedded,postgres').split(',').map((name) => name.trim()),
  postgresUrl: process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/test',
};
const PASSWORD = 'correct horse battery staple, bench edition';
const TERRITORIES = ['benchaa', 'benchbb'];

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function call(base, method, path, { body, cookie, admin } = {}) {
  const headers = { ...(body ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}), ...(admin ? { authorization: `Bearer ${admin}` } : {}) };
  const response = await fetch(`${base}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: response.status, body: await response.json(), cookies: response.headers.getSetCookie() };
}

/** A person registered by email and password: their session is fresh, as a move requires. */
async function register(base, i) {
  const email = `mover.${Date.now().toString(36)}.${i}@bench.example`;
  const answer = await call(base, 'POST', '/auth/register', { body: { email, password: PASSWORD, initialDisplayName: `Mover ${i}` } });
  if (answer.status !== 201) throw new Error(`POST /auth/register answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.cookies.map((line) => line.slice(0, line.indexOf(';'))).join('; ');
}

async function run(label, database) {
  const adminToken = newSecret();
  log(`${label}: starting the service`);
  const service = await startService({ root, database: { ...database, ADMIN_TOKEN: adminToken } });
  const base = new URL(service.url).origin;
  try {
    for (const code of TERRITORIES) {
      const created = await call(base, 'POST', '/admin/territories', { body: { code, name: code }, admin: adminToken });
      if (created.status !== 201) throw new Error(`territory ${code}: ${created.status} ${JSON.stringify(created.body)}`);
    }
    log(`${label}: registering ${settings.moves} people`);
    const people = [];
    for (let i = 0; i < settings.moves; i++) people.push(await register(base, i));
    log(`${label}: moving each once`);
    const durations = [];
    for (const [i, cookie] of people.entries()) {
      const started = performance.now();
      const moved = await call(base, 'POST', '/api/v2/federation/moves', { body: { to: TERRITORIES[i % 2], dualCitizenship: i % 3 === 0 }, cookie });
      durations.push(performance.now() - started);
      if (moved.status !== 201) throw new Error(`move answered ${moved.status}: ${JSON.stringify(moved.body)}`);
    }
    durations.sort((a, b) => a - b);
    return { label, moves: durations.length, medianMs: round(percentile(durations, 50)), p95Ms: round(percentile(durations, 95)), maxMs: round(durations.at(-1)) };
  } finally {
    await stop(service.proc);
  }
}

const round = (ms) => Math.round(ms * 10) / 10;

const runs = [];
for (const name of settings.databases) {
  if (name === 'embedded') {
    const dataDir = await mkdtemp(join(tmpdir(), 'personae-bench-move-'));
    const forget = onInterrupt(() => rm(dataDir, { recursive: true, force: true }));
    try {
      runs.push(await run('embedded (PGlite)', { DATA_DIR: dataDir }));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      forget();
    }
  } else if (name === 'postgres') {
    let database;
    try {
      database = await createBenchDatabase(settings.postgresUrl);
    } catch (error) {
      log(`PostgreSQL at ${redact(settings.postgresUrl)} unavailable, skipped: ${error.message}`);
      continue;
    }
    const forget = onInterrupt(() => database.drop());
    try {
      runs.push(await run('PostgreSQL', { DATABASE_URL: database.url }));
    } finally {
      await database.drop();
      forget();
    }
  }
}

console.log('\nterritory moves (POST /api/v2/federation/moves, whole saga, one request at a time)');
for (const result of runs) console.log(`  ${result.label}: ${result.moves} moves, median ${result.medianMs} ms, p95 ${result.p95Ms} ms, max ${result.maxMs} ms`);
await mkdir(dirname(resultsPath), { recursive: true });
await writeFile(resultsPath, `${JSON.stringify({ settings, runs }, null, 2)}\n`);

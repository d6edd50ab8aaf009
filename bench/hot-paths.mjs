// npm run bench:hot-paths: the CPU each hot read costs inside the process, against bare Fastify routes
// doing the least the same answer needs, in the same process. Requests go through app.inject (no
// sockets), so the figure is the service's own work, and the best of several rounds is kept: on a
// shared machine the load benches' req/s swing with other processes; CPU per request much less.
//
// Routes: GET /session (cached), GET /identities/{handle}, WebFinger, and GET /session with a line
// written per request (ACCESS_LOG=all) to show what the access log costs. The embedded database
// (in memory); the cached paths do not touch it.
//
// Knobs: BENCH_REQUESTS (per round, 20000), BENCH_ROUNDS (3), BENCH_LOG_FILE (where access-log lines
// go, /dev/null: a real write per line, as to a file or a pipe).
import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import Fastify from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../dist/app.js';
import { createMemoryInvalidationBus } from '../dist/cache/invalidation-bus.js';
import { loadConfig } from '../dist/config.js';
import { openDatabase } from '../dist/db/database.js';
import { migrateToLatest } from '../dist/db/migrate.js';
import { createLogger } from '../dist/http/logger.js';
import { integerFromEnv } from './lib/settings.mjs';

const REQUESTS = integerFromEnv('BENCH_REQUESTS', 20_000, 100);
const ROUNDS = integerFromEnv('BENCH_ROUNDS', 3, 1);
const LOG_FILE = process.env.BENCH_LOG_FILE || '/dev/null';
const HANDLE = 'bench_person';
const secret = () => randomBytes(32).toString('base64url');

/** The service as `npm start` builds it, with its default logging unless `env` says otherwise. */
async function startService(database, env) {
  const config = loadConfig({
    NODE_ENV: 'production',
    COOKIE_SECRETS: secret(),
    TOKEN_HASH_KEY: secret(),
    PSEUDONYM_KEYS: `k1:${secret()}`,
    ADMIN_TOKEN: secret(),
    EMAIL_KEYS: `k1:${secret()}`,
    LOOKUPS_PER_CLIENT: '10000000', // one client makes every lookup
    PURGE_INTERVAL_SECONDS: '0',
    ...env,
  });
  const logger = createLogger(config.logLevel, pino.destination({ dest: LOG_FILE, sync: true }));
  const app = await buildApp({ config, database, logger, invalidation: createMemoryInvalidationBus() });
  await app.ready();
  return app;
}

/** A started guest whose persona holds the handle the lookups ask for. */
async function prepare(app) {
  const started = await app.inject({ method: 'POST', url: '/session' });
  const cookie = [started.headers['set-cookie']].flat().find((line) => line.startsWith('anon_id=')).split(';')[0];
  const claimed = await app.inject({
    method: 'PUT',
    url: `/personas/${started.json().persona.id}/handle`,
    headers: { cookie, 'content-type': 'application/json' },
    payload: { handle: HANDLE },
  });
  if (claimed.statusCode !== 200) throw new Error(`claiming ${HANDLE} answered ${claimed.statusCode}: ${claimed.body}`);
  return cookie;
}

/** The least each route could do: verify the cookie or read the path, answer from memory. */
async function startBare() {
  const cookieSecret = secret();
  const app = Fastify({ logger: { level: 'info', stream: pino.destination({ dest: LOG_FILE, sync: true }) }, disableRequestLogging: true });
  await app.register(fastifyCookie, { secret: [cookieSecret] });
  const persona = { id: '0b7e5a52-6f1c-4b1e-9a53-2f4e8d7c1a90', displayName: 'Quiet Otter 4821', trustLevel: 'NEW', authorId: 'k1.Xb2cQ9rT0aLmN4pZ7wYvE1sK' };
  app.get('/session', async (request) => {
    const raw = request.cookies.anon_id;
    const unsigned = raw && raw.length <= 200 ? request.unsignCookie(raw) : null;
    const started = Boolean(unsigned?.valid && unsigned.value?.split('.').length === 2);
    return { started, anonymous: true, banned: false, persona: started ? persona : null, correlationId: request.id };
  });
  app.get('/identities/:handle', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const { handle } = request.params;
    return {
      identity: { handle, displayName: 'Bench Person', avatarUrl: null, address: `${handle}@main`, matrixId: `@${handle}:localhost`, aliases: [], publicKeyHash: 'f'.repeat(64), territory: { code: 'main', name: 'Main' } },
      correlationId: request.id,
    };
  });
  await app.ready();
  const cookie = fastifyCookie.serialize('anon_id', fastifyCookie.sign(`${secret()}.${Math.floor(Date.now() / 1000).toString(36)}`, cookieSecret));
  return { app, cookie };
}

/** CPU µs per request, the best of ROUNDS rounds after a warm-up; every answer must be a 200. */
async function cpuPerRequest(app, options) {
  const round = async (count) => {
    for (let i = 0; i < count; i++) {
      const response = await app.inject(options);
      if (response.statusCode !== 200) throw new Error(`${options.url} answered ${response.statusCode}: ${response.body}`);
      // inject resolves in microtasks: let the event loop run (timers, immediates) as a server's would.
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await round(Math.min(REQUESTS, 3000));
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.cpuUsage();
    await round(REQUESTS);
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / REQUESTS);
  }
  return best;
}

const database = openDatabase({ dataDir: 'memory' });
await migrateToLatest(database.db);
const service = await startService(database, {});
const cookie = await prepare(service);
const bare = await startBare();
const perLine = await startService(database, { ACCESS_LOG: 'all' });

const rows = [
  ['GET /session (cached)', await cpuPerRequest(service, { url: '/session', headers: { cookie } }), await cpuPerRequest(bare.app, { url: '/session', headers: { cookie: bare.cookie } })],
  ['GET /session, ACCESS_LOG=all', await cpuPerRequest(perLine, { url: '/session', headers: { cookie } }), null],
  ['GET /identities/{handle}', await cpuPerRequest(service, { url: `/identities/${HANDLE}` }), await cpuPerRequest(bare.app, { url: `/identities/${HANDLE}` })],
  ['WebFinger', await cpuPerRequest(service, { url: `/.well-known/webfinger?resource=acct:${HANDLE}@localhost` }), null],
];
rows[1][2] = rows[0][2];
rows[3][2] = rows[2][2];
await Promise.all([service.close(), perLine.close(), bare.app.close()]);
await database.close();

console.log(`\nCPU per request inside the process (app.inject, best of ${ROUNDS} × ${REQUESTS}; Node ${process.version})\n`);
for (const [name, real, baseline] of rows) {
  console.log(`${name.padEnd(30)} service ${real.toFixed(1).padStart(6)} µs   bare ${baseline.toFixed(1).padStart(6)} µs   extra ${(real - baseline).toFixed(1).padStart(5)} µs   ${(real / baseline).toFixed(2)}×`);
}
console.log('\n(inject costs the same for both; "extra" is what the service adds. Access-log lines went to', LOG_FILE + '.)');

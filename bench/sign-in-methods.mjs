// npm run bench (third part): the unified sign-in route of spec 003 and API access tokens.
// - POST /api/v2/auth/authenticate {strategy: 'guest', client: 'api'}: a new anonymous identity with tokens;
// - POST /api/v2/auth/authenticate {strategy: 'wallet'}: Sign-In with Ethereum, each request a fresh
//   nonce signed with a real key (signed before the run, so the bench measures the server's verification);
// - GET /session with `Authorization: Bearer <JWT>`: access-token verification on the hot path, against
//   the same route with the guest's cookie, measured in the same run.
// Knobs: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 3), BENCH_CONNECTIONS (10), BENCH_DATABASES, BENCH_DATABASE_URL.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { onInterrupt, stop } from './lib/children.mjs';
import { loadJson, measure } from './lib/load.mjs';
import { createBenchDatabase, redact } from './lib/postgres.mjs';
import { startService } from './lib/servers.mjs';
import { integerFromEnv } from './lib/settings.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (message) => console.error(`[bench:sign-in] ${message}`);
const settings = {
  durationSeconds: integerFromEnv('BENCH_DURATION', 10, 1),
  warmupSeconds: integerFromEnv('BENCH_WARMUP', 3, 0),
  connections: integerFromEnv('BENCH_CONNECTIONS', 10, 1),
  databases: (process.env.BENCH_DATABASES || 'embedded,postgres').split(',').map((name) => name.trim()),
  postgresUrl: process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/test',
};
/** Wallet sign-ins signed ahead: enough for warm-up and run at a few hundred per second. */
const WALLET_POOL = integerFromEnv('BENCH_WALLET_POOL', 4000, 100);

async function json(url, body, headers = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** Challenges fetched and signed before the run: a wallet's part of the work is not the server's. */
async function signedWalletSignIns(base, count) {
  const account = privateKeyToAccount(generatePrivateKey());
  const bodies = [];
  for (let i = 0; i < count; i++) {
    const challenge = await json(`${base}/api/v2/auth/challenge`, { strategy: 'wallet' });
    const message = createSiweMessage({
      address: account.address,
      domain: challenge.domain,
      uri: challenge.uri,
      chainId: challenge.chainIds[0],
      nonce: challenge.nonce,
      version: '1',
      issuedAt: new Date(challenge.issuedAt),
      expirationTime: new Date(challenge.expirationTime),
      statement: challenge.statement,
    });
    bodies.push(JSON.stringify({ strategy: 'wallet', client: 'api', message, signature: await account.signMessage({ message }) }));
  }
  return bodies;
}

const row = (name, summary) =>
  `| ${name} | ${Math.round(summary.rps)} | ${summary.p50} | ${summary.p99} | ${summary.serverCpuUsPerRequest} | ${summary.non2xx} |`;

async function benchOne(database) {
  // All the load comes from one client address: the per-client ceremony limit (30 a minute by
  // default) would measure the limiter, not the sign-in. Production sees many clients.
  const service = await startService({ root, database: { ...database.env, CHALLENGES_PER_CLIENT: '100000' } });
  onInterrupt(() => stop(service.proc));
  const base = service.url.replace(/\/session$/, '');
  const common = { serverPid: service.proc.child.pid, connections: settings.connections, warmupSeconds: settings.warmupSeconds, durationSeconds: settings.durationSeconds };
  try {
    const guestBody = JSON.stringify({ strategy: 'guest', client: 'api' });
    const guest = await loadJson({ ...common, url: `${base}/api/v2/auth/authenticate`, nextBody: () => guestBody });
    log(`${database.name}: signing ${WALLET_POOL} wallet sign-ins ahead`);
    const wallets = await signedWalletSignIns(base, WALLET_POOL);
    let next = 0;
    // Each signed message works once: past the pool, requests answer 400 (counted as non-2xx).
    const wallet = await loadJson({ ...common, url: `${base}/api/v2/auth/authenticate`, nextBody: () => wallets[next++ % wallets.length] });
    const { accessToken } = await json(`${base}/api/v2/auth/authenticate`, { strategy: 'guest', client: 'api' });
    const bearer = await measure({ ...common, url: service.url, headers: { authorization: `Bearer ${accessToken}` } });
    const cookie = await measure({ ...common, url: service.url, cookie: service.cookie });
    return [
      `### ${database.name}`,
      '',
      '| route | req/s | p50 ms | p99 ms | server CPU µs/req | non-2xx |',
      '| --- | --- | --- | --- | --- | --- |',
      row('POST /api/v2/auth/authenticate (guest, api)', guest.summary),
      row(`POST /api/v2/auth/authenticate (wallet, ${wallets.length} signed ahead; reused nonces after that answer 400)`, wallet.summary),
      row('GET /session, Bearer access token', bearer.summary),
      row('GET /session, guest cookie (same run)', cookie.summary),
      '',
      `Access-token ratio (bearer / cookie req/s): ${(bearer.summary.rps / cookie.summary.rps).toFixed(2)}`,
      '',
    ].join('\n');
  } finally {
    await stop(service.proc);
  }
}

const sections = [];
for (const name of settings.databases) {
  if (name === 'embedded') {
    const dir = await mkdtemp(join(tmpdir(), 'personae-bench-'));
    try {
      sections.push(await benchOne({ name: 'PGlite (embedded)', env: { DATA_DIR: dir } }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } else if (name === 'postgres') {
    const db = await createBenchDatabase(settings.postgresUrl);
    try {
      sections.push(await benchOne({ name: `PostgreSQL (${redact(settings.postgresUrl)})`, env: { DATABASE_URL: db.url } }));
    } finally {
      await db.drop();
    }
  }
}
console.log(`## Sign-in methods and access tokens (${settings.connections} connections, ${settings.durationSeconds} s)\n\n${sections.join('\n')}`);

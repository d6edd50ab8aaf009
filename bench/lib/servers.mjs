import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import { freePort, startNode, stop, waitReady } from './children.mjs';

/** 32 random bytes as base64url: the 43 characters the service asks of every secret. */
export const newSecret = () => randomBytes(32).toString('base64url');

/**
 * The Node.js options of `npm start` (package.json's start script, `node <options> dist/main.js`):
 * the benchmarks run the service as it is started, and this is the one place those options live.
 */
export function startScriptNodeArgs(root) {
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const words = scripts.start.trim().split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== 'dist/main.js') throw new Error(`package.json's start script is not "node <options> dist/main.js": ${scripts.start}`);
  return words.slice(1, -1);
}

/**
 * The real service from the build output, as an operator runs it in production: `npm start`'s
 * Node.js options, fresh secrets, the default logging (LOG_LEVEL=info, ACCESS_LOG=slow: slow and
 * failed requests only), and either DATA_DIR (embedded PGlite) or DATABASE_URL (PostgreSQL).
 */
export async function startService({ root, database, nodeArgs = [] }) {
  const port = await freePort();
  const env = serviceEnv(port, database);
  const proc = startNode(join(root, 'dist/main.js'), { env, nodeArgs: [...startScriptNodeArgs(root), ...nodeArgs], name: 'personae (dist/main.js)' });
  const base = `http://127.0.0.1:${port}`;
  try {
    // Migrations run before listen, so a first PGlite start can take a few seconds.
    await waitReady(proc, `${base}/readyz`, 60_000);
    const cookie = await startGuest(base);
    await expectStarted(`${base}/session`, cookie, proc.name);
    return { proc, url: `${base}/session`, cookie };
  } catch (error) {
    await stop(proc);
    throw error;
  }
}

/** Fresh secrets for one deployment: its nodes, and each restart of one, must share them. */
export function serviceSecrets() {
  return {
    COOKIE_SECRETS: newSecret(),
    TOKEN_HASH_KEY: newSecret(),
    PSEUDONYM_KEYS: `k1:${newSecret()}`,
    ADMIN_TOKEN: newSecret(),
    EMAIL_KEYS: `k1:${newSecret()}`,
  };
}

/** The service's environment: fresh secrets, info-level logs, and `database` ({ DATA_DIR } or { DATABASE_URL }, and any setting to add or override). */
export function serviceEnv(port, database) {
  return { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', NODE_ENV: 'production', ...serviceSecrets(), ...database };
}

/** The cookies of `count` more guests of a started service (`url` is its /session), a few at a time. */
export async function startGuests(url, count) {
  const base = url.slice(0, -'/session'.length);
  const cookies = [];
  while (cookies.length < count) {
    const wave = Math.min(25, count - cookies.length);
    cookies.push(...(await Promise.all(Array.from({ length: wave }, () => startGuest(base)))));
  }
  return cookies;
}

/** POST /session without a cookie starts a guest; its Set-Cookie is the visitor's `anon_id`. */
async function startGuest(base) {
  const response = await fetch(`${base}/session`, { method: 'POST' });
  const body = await response.text();
  if (response.status !== 201) throw new Error(`POST /session answered ${response.status}: ${body}`);
  const setCookie = response.headers.getSetCookie().find((line) => line.startsWith('anon_id='));
  if (!setCookie) throw new Error('POST /session set no anon_id cookie');
  // Sent back exactly as received (still URL-encoded), as a browser would.
  return setCookie.slice(0, setCookie.indexOf(';'));
}

/** So we truly measure a started identity, not the cheaper "not started" answer. */
async function expectStarted(url, cookie, name) {
  const response = await fetch(url, { headers: { cookie } });
  const body = await response.json();
  if (response.status !== 200 || body.started !== true) {
    throw new Error(`${name}: GET /session with the cookie answered ${response.status} ${JSON.stringify(body)}`);
  }
}

/** The bare baseline, with a cookie made as the service makes it: a signed `<token>.<base36 seconds>`. */
export async function startBare({ root, nodeArgs = [] }) {
  const port = await freePort();
  const secret = newSecret();
  const proc = startNode(join(root, 'bench/bare-server.mjs'), {
    env: { PORT: String(port), HOST: '127.0.0.1', COOKIE_SECRET: secret, NODE_ENV: 'production' },
    nodeArgs,
    name: 'bare server (bench/bare-server.mjs)',
  });
  const url = `http://127.0.0.1:${port}/session`;
  try {
    await waitReady(proc, `http://127.0.0.1:${port}/readyz`);
    const value = `${newSecret()}.${Math.floor(Date.now() / 1000).toString(36)}`;
    const cookie = fastifyCookie.serialize('anon_id', fastifyCookie.sign(value, secret));
    await expectStarted(url, cookie, proc.name);
    return { proc, url, cookie };
  } catch (error) {
    await stop(proc);
    throw error;
  }
}

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyPostgresDatabase, postgresUrl } from '../support/database.js';

/** The built service, run as an operator would: `node dist/main.js` and `node dist/cli.js`. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRET_NAMES = ['COOKIE_SECRETS', 'TOKEN_HASH_KEY', 'PSEUDONYM_KEYS', 'ADMIN_TOKEN', 'EMAIL_KEYS'];
/** Starting embedded PostgreSQL (WASM) takes a while on a busy machine. */
const START_TIMEOUT_MS = 60_000;

const children = new Set<ChildProcess>();
const dirs: string[] = [];

beforeAll(() => {
  // The service only: npm test built the web app before vitest started, and rebuilding it here would
  // empty web/dist under the browser tests running in the other worker.
  execFileSync('npm', ['run', 'build:server'], { cwd: ROOT, timeout: 120_000, stdio: 'pipe' });
}, 150_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'personae-process-'));
  dirs.push(dir);
  return dir;
};
const secret = () => randomBytes(32).toString('base64url');

/** An explicit environment: nothing from the test's own (no DATABASE_URL: children run embedded). */
const childEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  ...extra,
});

interface Child {
  readonly process: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnNode(script: string, args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, [join(ROOT, 'dist', script), ...args], { cwd: ROOT, env: childEnv(env) });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { process: child, output: () => output, exited };
}

/** Runs to completion; answers the exit code and everything printed. */
async function runNode(script: string, args: string[], env: Record<string, string>) {
  const child = spawnNode(script, args, env);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), START_TIMEOUT_MS);
  const { code } = await child.exited;
  clearTimeout(timer);
  return { code, output: child.output() };
}

/** A port free right now: PORT=0 would work, but nothing would tell us which port was chosen. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts the server (in development, no secrets given, unless `env` says otherwise) and waits until /healthz answers. */
async function startServer(dataDir: string, env: Record<string, string> = { NODE_ENV: 'development' }) {
  const port = await freePort();
  const child = spawnNode('main.js', [], { DATA_DIR: dataDir, PORT: String(port), ...env });
  const base = `http://127.0.0.1:${port}`;
  let exitedEarly = false;
  void child.exited.then(() => (exitedEarly = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && !exitedEarly) {
    const healthy = await fetch(`${base}/healthz`).then((r) => r.status === 200, () => false);
    if (healthy) return { ...child, base };
    await delay(200);
  }
  child.process.kill('SIGKILL');
  throw new Error(`the server did not become healthy:\n${child.output()}`);
}

/** SIGTERM, then how it ended and how long it took. */
async function terminate(child: Child) {
  const sentAt = Date.now();
  child.process.kill('SIGTERM');
  const ended = await Promise.race([child.exited, delay(10_000).then(() => null)]);
  if (!ended) child.process.kill('SIGKILL');
  return { ended, ms: Date.now() - sentAt };
}

// Embedded suite only: the children run embedded whatever the suite (childEnv), so it would repeat exactly.
describe.skipIf(postgresUrl)('refusing to start in production without good secrets', () => {
  it('exits non-zero, naming every missing secret, without a stack trace', async () => {
    const dataDir = tempDir();
    const { code, output } = await runNode('main.js', [], { NODE_ENV: 'production', DATA_DIR: dataDir });
    expect(code).not.toBe(0);
    for (const name of SECRET_NAMES) expect(output).toContain(name);
    expect(output).not.toMatch(/^\s+at /m);
    expect(existsSync(join(dataDir, 'secrets.json'))).toBe(false); // production never invents secrets
  });

  it('names the one secret that is too short', async () => {
    const { code, output } = await runNode('main.js', [], {
      NODE_ENV: 'production',
      DATA_DIR: tempDir(),
      COOKIE_SECRETS: secret(),
      TOKEN_HASH_KEY: secret(),
      PSEUDONYM_KEYS: `k1:${secret()}`,
      ADMIN_TOKEN: 'admin',
      EMAIL_KEYS: `k1:${secret()}`,
    });
    expect(code).not.toBe(0);
    expect(output).toMatch(/too short/i);
    expect(output).toContain('ADMIN_TOKEN');
    for (const name of SECRET_NAMES.filter((n) => n !== 'ADMIN_TOKEN')) expect(output).not.toContain(name);
  });
});

// Embedded suite only: the children run embedded whatever the suite (childEnv), so it would repeat exactly.
describe.skipIf(postgresUrl)('running in development', () => {
  it('serves, keeps its own secrets in a 0600 file, and a restart keeps every visitor', async () => {
    const dataDir = tempDir();
    const first = await startServer(dataDir);
    const secretsFile = join(dataDir, 'secrets.json');
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    const secrets = readFileSync(secretsFile, 'utf8');

    const started = await fetch(`${first.base}/session`, { method: 'POST' });
    expect(started.status).toBe(201);
    const { persona } = (await started.json()) as { persona: { id: string } };
    const cookie = started.headers.getSetCookie().find((c) => c.startsWith('anon_id='))?.split(';')[0];
    expect(cookie).toBeDefined();
    expect((await terminate(first)).ended?.code).toBe(0);

    const second = await startServer(dataDir);
    try {
      expect(readFileSync(secretsFile, 'utf8')).toBe(secrets);
      const again = await fetch(`${second.base}/session`, { headers: { cookie: String(cookie) } });
      expect(again.status).toBe(200);
      // The cookie still verifies (same secrets) and finds the guest (same PGlite data).
      expect(await again.json()).toMatchObject({ started: true, persona });
      expect(again.headers.getSetCookie().some((c) => c.startsWith('anon_id='))).toBe(false);
    } finally {
      await terminate(second);
    }
  }, 180_000);

  it('stops on SIGTERM with exit code 0 within a few seconds', async () => {
    const server = await startServer(tempDir());
    expect((await fetch(`${server.base}/readyz`)).status).toBe(200);
    const { ended, ms } = await terminate(server);
    expect(ended, `did not exit within 10 s:\n${server.output()}`).not.toBeNull();
    expect(ended).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(5000);
    expect(server.output()).toContain('stopped');
  }, 120_000);
});

// Embedded suite only: the children run embedded whatever the suite (childEnv), so it would repeat exactly.
describe.skipIf(postgresUrl)('node dist/cli.js migrate', () => {
  it('applies the migrations on a fresh database, then reports it up to date', async () => {
    const env = { NODE_ENV: 'development', DATA_DIR: tempDir() };
    const first = await runNode('cli.js', ['migrate'], env);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/^success: 0001-foundation$/m);
    expect(first.output).toMatch(/applied [1-9]\d* migration\(s\)/);

    const second = await runNode('cli.js', ['migrate'], env);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('database is up to date');
    expect(second.output).not.toContain('success:');
  }, 150_000);

  it('prints usage and exits 2 for an unknown command', async () => {
    const { code, output } = await runNode('cli.js', ['migrat'], { NODE_ENV: 'development', DATA_DIR: tempDir() });
    expect(code).toBe(2);
    expect(output).toContain('usage: personae');
  });
});

describe.runIf(postgresUrl)('against the PostgreSQL server of DATABASE_URL', () => {
  it('migrates with the CLI, serves in production, and stops on SIGTERM', async () => {
    const database = await createEmptyPostgresDatabase();
    try {
      const production = {
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        COOKIE_SECRETS: secret(),
        TOKEN_HASH_KEY: secret(),
        PSEUDONYM_KEYS: `k1:${secret()}`,
        ADMIN_TOKEN: secret(),
        EMAIL_KEYS: `k1:${secret()}`,
      };
      const migrated = await runNode('cli.js', ['migrate'], production);
      expect(migrated.code, migrated.output).toBe(0);
      expect(migrated.output).toMatch(/^success: 0001-foundation$/m);

      const dataDir = tempDir();
      const server = await startServer(dataDir, production);
      expect((await fetch(`${server.base}/readyz`)).status).toBe(200);
      const started = await fetch(`${server.base}/session`, { method: 'POST' });
      expect(started.status).toBe(201);
      expect(existsSync(join(dataDir, 'pglite'))).toBe(false); // the embedded database was never opened
      const { ended } = await terminate(server);
      expect(ended).toEqual({ code: 0, signal: null });
    } finally {
      await database.drop();
    }
  }, 150_000);
});

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/**
 * Real processes for the tests of faults and of several nodes: the service itself (src/main.ts, run
 * by tsx so no build is needed and no other test's `npm run build` can swap dist/ underneath it), and
 * private Redis and NATS servers that a test may kill without disturbing anyone else's.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src', 'main.ts');

const running = new Set<ChildProcess>();
/** Nothing a test started may outlive the worker, however the test ended. */
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last lines it printed (stdout and stderr), for failure messages. */
  output(): string;
  readonly exited: Promise<void>;
  /** True once it has exited. */
  dead(): boolean;
}

function launch(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(String(chunk));
    if (lines.length > 80) lines.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let done = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      done = true;
      running.delete(child);
      resolve();
    }),
  );
  return { name, child, output: () => lines.join(''), exited, dead: () => done };
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/** Polls until `ready` holds; fails early if the process died, and after `timeoutMs`. */
async function waitFor(proc: Proc, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.dead()) throw new Error(`${proc.name} exited before it was ready:\n${proc.output()}`);
    if (await ready().catch(() => false)) return;
    await delay(100);
  }
  proc.child.kill('SIGKILL');
  throw new Error(`${proc.name} was not ready after ${timeoutMs} ms:\n${proc.output()}`);
}

/** SIGKILL, and wait until it is gone. */
export async function killHard(proc: Proc): Promise<void> {
  if (proc.dead()) return;
  proc.child.kill('SIGKILL');
  await proc.exited;
}

/** SIGTERM (a graceful stop), SIGKILL after `graceMs`. */
export async function stopGracefully(proc: Proc, graceMs = 10_000): Promise<void> {
  if (proc.dead()) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

export interface ServiceNode extends Proc {
  readonly base: string;
  readonly port: number;
}

/**
 * Starts the service as an operator would (`src/main.ts`: config from the environment, migrate,
 * listen) with only the environment given, and waits until /healthz answers. `port` reuses a port
 * (a restart on the same address).
 */
export async function startService(
  name: string,
  env: Record<string, string>,
  options: { readonly port?: number; readonly timeoutMs?: number } = {},
): Promise<ServiceNode> {
  const port = options.port ?? (await freePort());
  const proc = launch(name, process.execPath, ['--import', 'tsx', MAIN], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: '127.0.0.1',
    PORT: String(port),
    ...env,
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(proc, async () => (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) })).status === 200, options.timeoutMs ?? 90_000);
  return { ...proc, base, port };
}

/** A Redis server of the test's own, without persistence, on `port` (a restart reuses it). */
export async function startRedis(port?: number): Promise<Proc & { readonly url: string; readonly port: number }> {
  const chosen = port ?? (await freePort());
  const proc = launch('redis', 'redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    PATH: process.env.PATH,
  });
  await waitFor(proc, () => answers(chosen), 10_000);
  return { ...proc, url: `redis://127.0.0.1:${chosen}`, port: chosen };
}

/** A NATS server with JetStream of the test's own, storing in `storeDir` (a restart on it keeps the stream). */
export async function startNats(storeDir: string, port?: number): Promise<Proc & { readonly url: string; readonly port: number }> {
  const chosen = port ?? (await freePort());
  const proc = launch('nats', 'nats-server', ['-a', '127.0.0.1', '-p', String(chosen), '-js', '-sd', storeDir], { PATH: process.env.PATH });
  await waitFor(proc, () => answers(chosen), 10_000);
  return { ...proc, url: `nats://127.0.0.1:${chosen}`, port: chosen };
}

/** True when something accepts a TCP connection on the port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A temporary folder, removed by the returned function. */
export function tempFolder(prefix: string): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `personae-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

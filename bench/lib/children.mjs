import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Every child still running; killed on any exit, normal or not, so no server outlives the bench. */
const running = new Set();
/** Async clean-ups (drop the bench database, remove temp folders) that a signal must not skip. */
const cleanups = new Set();

export function onInterrupt(cleanup) {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    console.error(`\n${signal}: stopping children and cleaning up`);
    for (const child of running) child.kill('SIGKILL');
    await Promise.allSettled([...cleanups].map((cleanup) => cleanup()));
    process.exit(130);
  });
}

/**
 * CPU time a process has used (user + system), in ms, from Linux's /proc (in clock ticks of 10 ms):
 * steadier than wall time when other work shares the cores. NaN once the process is gone.
 */
export function processCpuMs(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return Number.NaN;
  }
  const fields = stat.split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A port nobody listens on right now (the OS picks it; a tiny race with other processes is acceptable). */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts `node <script>` as its own process (its own core, apart from the load generator) and keeps
 * the last lines of its output for error messages.
 */
export function startNode(script, { env, nodeArgs = [], name = script }) {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    // Only what we pass: a DATABASE_URL or LOG_LEVEL in our own environment must not leak into a run.
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  const keep = (chunk) => {
    output.push(String(chunk));
    if (output.length > 50) output.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  running.add(child);
  child.once('exit', () => running.delete(child));
  return { name, child, output: () => output.join('') };
}

/** Polls `url` until it answers 200; fails early if the process dies, or after `timeoutMs`. */
export async function waitReady(proc, url, timeoutMs = 30_000, pollMs = 100) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before ready:\n${proc.output()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`${proc.name} not ready at ${url} after ${timeoutMs} ms:\n${proc.output()}`);
}

/** SIGTERM (the service closes gracefully, which also lets --cpu-prof write), SIGKILL after a grace period. */
export async function stop(proc, graceMs = 5000) {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

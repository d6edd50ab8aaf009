import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { processCpuMs } from './children.mjs';

function run(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** CPU seconds a process has used; NaN where there is no /proc (not Linux): the CPU columns stay empty. */
const processCpuSeconds = (pid) => processCpuMs(pid) / 1000;

/**
 * Busy CPU seconds of the whole machine, from /proc/stat: os.cpus() leaves out softirq (loopback
 * networking) and steal, which a VM still bills to the process that was running (so it must count).
 */
function machineCpuSeconds() {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return cpus().reduce((sum, { times }) => sum + times.user + times.nice + times.sys + times.irq, 0) / 1000;
  }
}

/**
 * Who used the CPU during the measured run, in % of one core. A load generator near 100% means the
 * figure is the generator's limit, not the server's; "other" is everything else on the machine.
 */
async function withCpuAccounting(serverPid, work) {
  const start = { at: performance.now(), self: process.cpuUsage(), server: processCpuSeconds(serverPid), machine: machineCpuSeconds() };
  const result = await work();
  const seconds = (performance.now() - start.at) / 1000;
  const self = process.cpuUsage(start.self);
  const loadgen = (self.user + self.system) / 1e6;
  const server = processCpuSeconds(serverPid) - start.server;
  const machine = machineCpuSeconds() - start.machine;
  const pct = (value) => Math.round((value / seconds) * 100);
  return { result, serverSeconds: server, cpu: { server: pct(server), loadgen: pct(loadgen), other: pct(machine - server - loadgen) } };
}

/** With `cookies`, each request carries the next one in turn: many visitors instead of one. */
function rotating(cookies) {
  if (!cookies) return {};
  let next = 0;
  return { requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, cookie: cookies[next++ % cookies.length] } }) }] };
}

/**
 * Loads `url` with `cookie` (or each of `cookies` in turn): a warm-up (JIT, caches, connection
 * set-up) that is thrown away, then the measured run. autocannon runs in this process; the server is another process (`serverPid`).
 */
export async function measure({ url, cookie, cookies, headers, method, body, serverPid, connections, warmupSeconds, durationSeconds }) {
  const options = { url, connections, headers: headers ?? { cookie }, ...(method ? { method } : {}), ...(body ? { body } : {}), ...rotating(cookies) };
  if (warmupSeconds > 0) await run({ ...options, duration: warmupSeconds });
  const { result, cpu, serverSeconds } = await withCpuAccounting(serverPid, () => run({ ...options, duration: durationSeconds }));
  return {
    summary: summarize(result, cpu, serverSeconds),
    raw: result,
  };
}

/**
 * POSTs JSON bodies from `nextBody()` (a fresh body per request, e.g. a new email) to `url`.
 * `metricBefore` is read between warm-up and the measured run, so counters cover only the latter.
 */
export async function loadJson({ url, connections, warmupSeconds, durationSeconds, serverPid, nextBody, metricBefore }) {
  const options = {
    url,
    connections,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (request) => ({ ...request, body: nextBody() }) }],
  };
  if (warmupSeconds > 0) await run({ ...options, duration: warmupSeconds });
  const metricAtStart = metricBefore ? await metricBefore() : null;
  const { result, cpu, serverSeconds } = await withCpuAccounting(serverPid, () => run({ ...options, duration: durationSeconds }));
  return {
    metricAtStart,
    summary: summarize(result, cpu, serverSeconds),
  };
}

/** What a report needs of one autocannon run, with the server's CPU per answered request. */
function summarize(result, cpu, serverSeconds) {
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    latencyAvg: result.latency.average,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    cpu,
    // Server CPU per answered request: steadier than req/s when other processes share the machine.
    serverCpuUsPerRequest: Math.round((serverSeconds * 1e6) / Math.max(result.requests.total, 1)),
  };
}

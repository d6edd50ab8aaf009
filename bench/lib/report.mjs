import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Issue 12's targets: session resolution keeps ≥ 75% of the bare route's throughput, p99 under 10 ms;
 * with the cache off, ≥ 4,000 req/s (set for PostgreSQL; shown for both databases).
 */
export const TARGETS = Object.freeze({ minRatio: 0.75, maxP99Ms: 10, minUncachedRps: 4000 });

/** Ratio and verdicts for one database; a run with failed requests is not a valid measurement. */
export function evaluate({ session, bare, uncached }) {
  const ratio = session.summary.rps / bare.summary.rps;
  const failures = [session, bare, uncached].filter(Boolean).reduce((n, r) => n + r.summary.non2xx + r.summary.errors + r.summary.timeouts, 0);
  return {
    ratio,
    // How many times the bare route's CPU a session request costs the server (noise-robust companion to `ratio`).
    cpuPerRequestRatio: session.summary.serverCpuUsPerRequest / bare.summary.serverCpuUsPerRequest,
    ratioMet: ratio >= TARGETS.minRatio,
    p99Met: session.summary.p99 < TARGETS.maxP99Ms,
    ...(uncached ? { uncachedMet: uncached.summary.rps >= TARGETS.minUncachedRps } : {}),
    failures,
  };
}

const fmtRps = (n) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n) => `${n} ms`;
const pct = (n) => `${(n * 100).toFixed(1)}%`;
const fmtUs = (n) => (Number.isFinite(n) ? `${n} µs` : 'n/a');
const fmtTimes = (n) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a');
const cpuOf = ({ server, loadgen, other }) => (Number.isNaN(server) ? 'n/a' : `${server}/${loadgen}/${other}`);

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  // Text left, numbers right.
  const cell = (value, i) => (/^[\d,.]+( ms| µs|%|×)?$/.test(String(value)) ? String(value).padStart(widths[i]) : String(value).padEnd(widths[i]));
  return rows.map((row) => row.map(cell).join('   ').trimEnd()).join('\n');
}

/** The printed report: one block of rows per database, then each target met or missed. */
export function render({ settings, runs }) {
  const rows = [['Database', 'Route', 'req/s', 'p50', 'p99', 'failed', 'server CPU/req', 'CPU % server/autocannon/other']];
  for (const run of runs) {
    if (run.skipped) {
      rows.push([run.label, 'skipped', '', '', '', '', '', '']);
      continue;
    }
    const line = (name, r) => [name, fmtRps(r.summary.rps), fmtMs(r.summary.p50), fmtMs(r.summary.p99),
      String(r.summary.non2xx + r.summary.errors + r.summary.timeouts), fmtUs(r.summary.serverCpuUsPerRequest), cpuOf(r.summary.cpu)];
    rows.push([run.label, ...line('GET /session', run.session)]);
    rows.push(['', ...line('bare cookie route', run.bare)]);
    rows.push(['', 'ratio session/bare', pct(run.verdict.ratio), '', '', '', fmtTimes(run.verdict.cpuPerRequestRatio), '']);
    if (run.roundRatios?.length > 1) rows.push(['', `every round (median shown)`, run.roundRatios.map(pct).join(' '), '', '', '', '', '']);
    if (run.uncached) {
      rows.push(['', ...line('GET /session, no cache', run.uncached)]);
      rows.push(['', 'ratio no-cache/bare', pct(run.uncached.summary.rps / run.bare.summary.rps), '', '', '', '', '']);
    }
  }
  const header =
    `GET /session vs a bare signed-cookie route: ${settings.connections} connections, ` +
    `${settings.warmupSeconds} s warm-up, ${settings.durationSeconds} s measured (Node ${process.version}, ${settings.cpus} CPUs)`;
  const verdicts = runs.map((run) => {
    if (run.skipped) return `  ${run.label}: skipped (${run.skipped})`;
    const { ratio, ratioMet, p99Met, uncachedMet, failures } = run.verdict;
    return (
      `  ${run.label}: throughput ≥ ${pct(TARGETS.minRatio)} of bare: ${ratioMet ? 'MET' : 'MISSED'} (${pct(ratio)}); ` +
      `p99 < ${TARGETS.maxP99Ms} ms: ${p99Met ? 'MET' : 'MISSED'} (${fmtMs(run.session.summary.p99)})` +
      (run.uncached
        ? `; no cache ≥ ${fmtRps(TARGETS.minUncachedRps)} req/s: ${uncachedMet ? 'MET' : 'MISSED'} (${fmtRps(run.uncached.summary.rps)})`
        : '') +
      (failures > 0 ? `; WARNING: ${failures} failed requests, figures are suspect` : '')
    );
  });
  const busy = runs.some((run) => !run.skipped && [run.session, run.bare].some((r) => r.summary.cpu.other > 20));
  const notes = [
    ...(busy ? ['Note: other processes used over 20% of a core during a measured run: figures are likely low and noisy.'] : []),
    ...(runs.some((run) => !run.skipped && run.bare.summary.cpu.loadgen >= 90)
      ? ['Note: autocannon was near 100% of its core on the bare route: the bare figure (and so the ratio) may be generator-bound.']
      : []),
    // Closed loop: each connection waits for its answer, so mean latency = connections ÷ throughput.
    ...(runs.some((run) => !run.skipped && !run.verdict.p99Met)
      ? [`Note: with ${settings.connections} connections, mean latency ≈ ${settings.connections} ÷ req/s ` +
          `(${settings.connections} ÷ 5,000 req/s = 10 ms): the p99 target needs far more throughput, or fewer connections.`]
      : []),
  ];
  return [header, '', table(rows), '', 'Targets:', ...verdicts, ...(notes.length ? ['', ...notes] : [])].join('\n');
}

/** Everything measured, autocannon's full results included, so figures can be quoted later. */
export async function writeResults(path, { settings, runs }) {
  await mkdir(dirname(path), { recursive: true });
  const body = {
    date: new Date().toISOString(),
    node: process.version,
    settings,
    targets: TARGETS,
    runs: runs.map((run) =>
      run.skipped
        ? { database: run.database, label: run.label, skipped: run.skipped }
        : {
            database: run.database,
            label: run.label,
            verdict: run.verdict,
            ...(run.roundRatios ? { roundRatios: run.roundRatios } : {}),
            session: run.session.summary,
            bare: run.bare.summary,
            ...(run.uncached ? { uncached: run.uncached.summary } : {}),
            raw: { session: run.session.raw, bare: run.bare.raw, ...(run.uncached ? { uncached: run.uncached.raw } : {}) },
          },
    ),
  };
  await writeFile(path, `${JSON.stringify(body, null, 2)}\n`);
}

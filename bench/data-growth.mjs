// npm run bench:data-growth: does the work per operation grow with the data? The soak cannot tell on a
// shared machine, whose speed drifts within ten minutes as much as the soak's 10 % limit. This
// compares two embedded databases in the same minutes instead: one seeded ("young") and a copy of it
// that then served GROWTH_SECONDS of the soak's mix back to back ("grown", more rows than a whole
// soak makes). Each is then started afresh and loaded at the same steady rate, alternately, for
// GROWTH_ROUNDS rounds, so the machine's drift falls on both alike. It prints each measurement and the
// grown ÷ young ratio of the medians: server CPU per operation, p50 and p99.
//
// Knobs: GROWTH_SECONDS (300), GROWTH_RATE (operations/s while measuring, 96), GROWTH_MEASURE_SECONDS
// (30, after 10 s of warm-up), GROWTH_ROUNDS (3). Not part of CI.
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, onInterrupt, processCpuMs, startNode, stop, waitReady } from './lib/children.mjs';
import { serviceEnv, serviceSecrets, startScriptNodeArgs } from './lib/servers.mjs';
import { integerFromEnv } from './lib/settings.mjs';
import { driveClients, seedPopulation, SoakPopulation, UNLIMITED_CLIENT_LIMITS } from './lib/soak-load.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const settings = {
  growthSeconds: integerFromEnv('GROWTH_SECONDS', 300, 1),
  rate: integerFromEnv('GROWTH_RATE', 96, 1),
  measureSeconds: integerFromEnv('GROWTH_MEASURE_SECONDS', 30, 1),
  warmupSeconds: 10,
  rounds: integerFromEnv('GROWTH_ROUNDS', 3, 1),
  users: 16,
};
const log = (message) => console.error(`[bench:data-growth] ${message}`);

// One set of secrets for every start: both folders come from one seeded database.
const secrets = serviceSecrets();

async function startOn(dataDir) {
  const port = await freePort();
  const env = serviceEnv(port, { ...secrets, ...UNLIMITED_CLIENT_LIMITS, DATA_DIR: dataDir });
  const proc = startNode(join(root, 'dist/main.js'), { env, nodeArgs: startScriptNodeArgs(root), name: 'personae (dist/main.js)' });
  await waitReady(proc, `http://127.0.0.1:${port}/readyz`, 120_000, 50);
  const population = new SoakPopulation(`http://127.0.0.1:${port}`);
  await seedPopulation(population);
  return { proc, population };
}

/** The soak's mix from every client for `seconds`: at `rate` operations/s in all, or back to back when 0. */
async function drive(population, seconds, rate) {
  const latencies = [];
  await driveClients(population, {
    clients: settings.users,
    end: performance.now() + seconds * 1000,
    rate,
    onAnswer: ({ elapsed, outcome, failed }) => {
      if (failed) throw new Error(`a request failed: ${outcome}`);
      latencies.push(elapsed);
    },
  });
  latencies.sort((a, b) => a - b);
  return { operations: latencies.length, p50: latencies[Math.floor(latencies.length / 2)], p99: latencies[Math.floor(latencies.length * 0.99)] };
}

async function measure(dataDir) {
  const service = await startOn(dataDir);
  try {
    await drive(service.population, settings.warmupSeconds, settings.rate);
    const before = processCpuMs(service.proc.child.pid);
    const run = await drive(service.population, settings.measureSeconds, settings.rate);
    return { ...run, cpuMsPerOperation: (processCpuMs(service.proc.child.pid) - before) / run.operations };
  } finally {
    await stop(service.proc);
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const folderSize = (dir) => execFileSync('du', ['-sh', dir]).toString().split('\t')[0];

const grown = await mkdtemp(join(tmpdir(), 'personae-growth-'));
const young = `${grown}-young`;
const forget = onInterrupt(() => Promise.all([rm(grown, { recursive: true, force: true }), rm(young, { recursive: true, force: true })]));
try {
  log('seeding one database, copied as the young one');
  await stop((await startOn(grown)).proc);
  await cp(grown, young, { recursive: true });
  log(`growing the other: the soak's mix back to back for ${settings.growthSeconds} s`);
  const service = await startOn(grown);
  const growth = await drive(service.population, settings.growthSeconds, 0).finally(() => stop(service.proc));
  console.log(`Grown by ${growth.operations} operations: ${folderSize(grown)} on disk against ${folderSize(young)}.`);
  console.log(`Each measured afresh: ${settings.warmupSeconds} s warm-up, then ${settings.measureSeconds} s at ${settings.rate} op/s, alternately (Node ${process.version}).`);
  const results = { grown: [], young: [] };
  for (let round = 1; round <= settings.rounds; round++) {
    const order = round % 2 ? ['grown', 'young'] : ['young', 'grown'];
    for (const name of order) {
      const result = await measure(name === 'grown' ? grown : young);
      results[name].push(result);
      console.log(`  round ${round} ${name.padEnd(5)}  ${result.cpuMsPerOperation.toFixed(2)} ms CPU/op   p50 ${result.p50.toFixed(1)} ms   p99 ${result.p99.toFixed(1)} ms`);
    }
  }
  console.log('grown ÷ young, medians of the rounds:');
  for (const [key, label] of [['cpuMsPerOperation', 'server CPU per operation'], ['p50', 'p50'], ['p99', 'p99']]) {
    console.log(`  ${label.padEnd(25)} ${(median(results.grown.map((r) => r[key])) / median(results.young.map((r) => r[key]))).toFixed(3)}`);
  }
} finally {
  await rm(grown, { recursive: true, force: true });
  await rm(young, { recursive: true, force: true });
  forget();
}

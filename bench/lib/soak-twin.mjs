import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processCpuMs, stop } from './children.mjs';
import { createBenchDatabase } from './postgres.mjs';
import { startService } from './servers.mjs';
import { seedPopulation, SoakPopulation } from './soak-load.mjs';

/**
 * Where the twin's data lives, and how it goes back to the seeded state: a copy of a folder
 * (embedded) or a database made from a template (PostgreSQL). `reset()` answers the environment
 * that points the service at a fresh copy.
 */
export async function embeddedTwinData() {
  const seeded = await mkdtemp(join(tmpdir(), 'personae-soak-twin-'));
  const running = `${seeded}-running`;
  return {
    seededEnv: { DATA_DIR: seeded },
    async reset() {
      await rm(running, { recursive: true, force: true });
      await cp(seeded, running, { recursive: true });
      return { DATA_DIR: running };
    },
    cleanup: () => Promise.all([rm(seeded, { recursive: true, force: true }), rm(running, { recursive: true, force: true })]),
  };
}

/** Without REDIS_URL: Redis pub/sub channels are shared by every deployment on one Redis, so the two would confirm each other's invalidations. */
export async function postgresTwinData(adminUrl) {
  const seeded = await createBenchDatabase(adminUrl);
  let running;
  return {
    seededEnv: { DATABASE_URL: seeded.url },
    async reset() {
      await running?.drop();
      running = await createBenchDatabase(adminUrl, { template: seeded.name });
      return { DATABASE_URL: running.url };
    },
    cleanup: async () => {
      await running?.drop();
      await seeded.drop();
    },
  };
}

/**
 * The soak's reference: a second copy of the service under the same load in the same seconds,
 * restarted at the start of every window on a fresh copy of its seeded data, so it never ages and
 * its data never grows. A shared machine's speed drifts within ten minutes by more than the soak's
 * limit, and it drifts for both alike: the soaked service's latency divided by the twin's keeps
 * what the soaked service's own age and data add, and drops the machine.
 */
export class SoakTwin {
  /** Answers that began before this `performance.now()` time are dropped: the twin was restarting or just started. */
  readyAt = Number.POSITIVE_INFINITY;
  population = new SoakPopulation('');
  #root;
  #data;
  #env;
  #service;
  #settling;
  #cpuAtReady = Number.NaN;
  #operations = 0;
  #seeded;

  /**
   * Settling time after each start, not measured: a fresh process runs its first requests on code the
   * JIT has not optimized yet (8 s after a start, twice the CPU per operation of a warm one; a third
   * more at 18 s; within a few % from about 30 s).
   */
  static SETTLE_MS = 20_000;

  /** `data` from embeddedTwinData or postgresTwinData; `env`, the settings (secrets among them) of every start. */
  constructor({ root, data, env }) {
    this.#root = root;
    this.#data = data;
    this.#env = env;
  }

  /** Starts the twin on its seeded data, seeds it as the soaked service is seeded, and keeps that state. */
  async seed() {
    await this.#start(this.#data.seededEnv);
    await seedPopulation(this.population);
    this.#seeded = this.population.snapshot();
    // Stopped before its data is copied: a clean shutdown leaves a folder (or template) to copy.
    await stop(this.#service.proc);
  }

  /**
   * Ends the twin's current window with its CPU per operation (NaN when it served nothing), then
   * starts it afresh on the seeded data with the seeded population.
   */
  async restart() {
    const cpuMsPerOperation = this.#closeWindow();
    if (this.#service) await stop(this.#service.proc);
    this.population.restore(this.#seeded);
    await this.#start(await this.#data.reset());
    this.#settling = setTimeout(() => {
      this.readyAt = performance.now();
      this.#cpuAtReady = processCpuMs(this.#service.proc.child.pid);
      this.#operations = 0;
    }, SoakTwin.SETTLE_MS).unref();
    return cpuMsPerOperation;
  }

  /** Counts an answer towards the twin's CPU per operation; false when it is to be dropped. */
  counts(began) {
    if (began < this.readyAt) return false;
    this.#operations++;
    return true;
  }

  /** The last window's CPU per operation, and the twin stopped. */
  async finish() {
    const cpuMsPerOperation = this.#closeWindow();
    if (this.#service) await stop(this.#service.proc);
    return cpuMsPerOperation;
  }

  /** Its CPU per operation since it settled (NaN when it served nothing), and nothing counted from here on. */
  #closeWindow() {
    clearTimeout(this.#settling);
    this.readyAt = Number.POSITIVE_INFINITY;
    if (!this.#service || this.#operations === 0) return Number.NaN;
    return (processCpuMs(this.#service.proc.child.pid) - this.#cpuAtReady) / this.#operations;
  }

  async #start(database) {
    this.#service = await startService({ root: this.#root, database: { ...database, ...this.#env } });
    this.population.base = new URL(this.#service.url).origin;
  }
}

import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { EMBEDDED_START_PARAMS } from '../../src/db/database.js';
import { postgresUrl } from '../support/database.js';
import { canMeasureResidentPages, residentBytes } from '../support/wasm-memory.js';

/**
 * PGlite turns parallel query off but leaves `max_parallel_maintenance_workers` at 2, so each VACUUM
 * of a table with two or more indexes over 512 kB (`min_parallel_index_scan_size`) prepared a
 * parallel vacuum, whose shared memory segment (1.6–3.2 MB of the process's WebAssembly memory by
 * table, 2.2 MB here) was never given back. Table maintenance vacuums every busy table once a minute: issue 12's embedded
 * soak grew 3 MB a minute, without end, from the seventh minute on.
 */
const VACUUMS = 10;
const MB = 2 ** 20;

let client: PGlite | undefined;
afterEach(() => client?.close());

describe.skipIf(postgresUrl || !canMeasureResidentPages)('the embedded database', () => {
  it('vacuums a table with several large indexes without holding on to memory', { timeout: 60_000 }, async () => {
    // PGlite's own settings first: the leak is there, so the measure can see it.
    expect(await memoryGrownByVacuums([...PGlite.defaultStartParams])).toBeGreaterThan(VACUUMS * MB);
    // Should PGlite stop leaking one day, the line above fails: the setting below may then go.
    // Ours: 0.004 MB here. The margin allows for a kernel that backs memory with 2 MB huge pages.
    expect(await memoryGrownByVacuums([...EMBEDDED_START_PARAMS])).toBeLessThan((VACUUMS * MB) / 2);
  });
});

/** Bytes of WebAssembly memory newly resident over VACUUMS vacuums, each after some deletes. */
async function memoryGrownByVacuums(startParams: string[]): Promise<number> {
  await client?.close();
  const template = inject('pgliteTemplate');
  client = new PGlite({ startParams, ...(template ? { loadDataDir: new Blob([await readFile(template)]) } : {}) });
  await client.exec(`
    create table vacuumed (id int primary key, a int unique, b int);
    insert into vacuumed select n, n, n % 7 from generate_series(1, 60000) n;`);
  // PGlite keeps its Emscripten module (and so its memory) protected. The memory may grow meanwhile,
  // which replaces its buffer: it is read afresh for each measure.
  const emscripten = (client as unknown as { mod: { HEAP8: Int8Array<ArrayBuffer> } }).mod;
  const memory = () => emscripten.HEAP8.buffer;
  // The first round may take memory that later ones reuse: growth is counted after it.
  await deleteAndVacuum(client, 0);
  const before = residentBytes(memory());
  for (let round = 1; round <= VACUUMS; round++) await deleteAndVacuum(client, round);
  return residentBytes(memory()) - before;
}

async function deleteAndVacuum(pglite: PGlite, round: number): Promise<void> {
  await pglite.query('delete from vacuumed where id % 100 = $1', [round]);
  await pglite.exec('vacuum (analyze) vacuumed');
}

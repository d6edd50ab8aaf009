import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cp, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { hasEmbeddedCluster, embeddedLocation } from './database.js';
import { migrateToLatest } from './migrate.js';
import type { Database } from './schema.js';

/**
 * A new embedded database used to cost a PGlite `initdb` on its first start (most of 15 s, and a
 * second wasm instance that left the process at 500+ MB). The build makes that cluster once, migrated,
 * as a plain folder next to the compiled code; a first start on an empty data folder copies it. (A
 * `dumpDataDir` tarball would be one file, but PGlite unpacks it through its wasm memory, which then
 * stays 80 MB larger for the life of the process.)
 *
 * It is only an optimisation: a cluster made by another PGlite release, or from other migrations, is
 * not used (the stamp says which), and without one the start is what it always was. It holds no secret
 * or per-install value: the migrations write only fixed reference rows (the default territory); ids,
 * keys and secrets are drawn later, by the running service.
 */
const folder = dirname(fileURLToPath(import.meta.url));
/** Where the build leaves the template: the root of the compiled code (dist/). */
export const BUILD_DIR = join(folder, '..');
const templateFolder = (dir: string) => join(dir, 'embedded-template');
const stampFile = (dir: string) => join(dir, 'embedded-template.json');

interface Stamp {
  readonly stamp: string;
}

/** The PGlite release and the compiled migrations (their code, not only their names): what a template depends on. */
async function currentStamp(): Promise<string> {
  const hash = createHash('sha256');
  const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const pglitePackage = JSON.parse(await readFile(join(dirname(pgliteEntry), '..', 'package.json'), 'utf8')) as { version: string };
  hash.update(`pglite ${pglitePackage.version}\n`);
  const files = ['migrate.js', 'territory-migrate.js'];
  for (const sub of ['migrations', 'territory-migrations']) {
    for (const name of (await readdir(join(folder, sub))).filter((file) => /\.[jt]s$/.test(file)).sort()) files.push(join(sub, name));
  }
  for (const file of files) {
    const path = join(folder, file);
    // From source (tests), the files are .ts: the same rule holds, with their own names.
    const source = existsSync(path) ? path : path.replace(/\.js$/, '.ts');
    hash.update(`${file}\n`).update(await readFile(source));
  }
  return hash.digest('hex');
}

async function templateFits(dir: string): Promise<boolean> {
  const stamp = await readFile(stampFile(dir), 'utf8').then((text) => JSON.parse(text) as Stamp, () => null);
  return stamp !== null && existsSync(join(templateFolder(dir), 'PG_VERSION')) && stamp.stamp === (await currentStamp());
}

/**
 * Gives an embedded data folder without a cluster a copy of the built one; answers whether it did.
 * Copied beside and renamed into place, so a start stopped halfway leaves no half cluster behind.
 */
export async function seedEmbeddedCluster(dataDir: string, dir = BUILD_DIR): Promise<boolean> {
  if (dataDir === 'memory' || hasEmbeddedCluster(dataDir) || !(await templateFits(dir))) return false;
  const location = embeddedLocation(dataDir);
  // An empty folder (made by a start that stopped before initdb) is replaced; anything else is left to PGlite.
  if (existsSync(location) && !(await rmdir(location).then(() => true, () => false))) return false;
  const partial = `${location}.partial`;
  await rm(partial, { recursive: true, force: true });
  await cp(templateFolder(dir), partial, { recursive: true });
  await rename(partial, location);
  return true;
}

/** Builds the template unless the one in place already fits; answers whether it wrote one. */
export async function writeEmbeddedTemplate(dir = BUILD_DIR): Promise<boolean> {
  if (await templateFits(dir)) return false;
  const partial = `${templateFolder(dir)}.partial`;
  await rm(partial, { recursive: true, force: true });
  const client = new PGlite(partial);
  const db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  await rm(stampFile(dir), { force: true });
  await rm(templateFolder(dir), { recursive: true, force: true });
  await rename(partial, templateFolder(dir));
  await writeFile(stampFile(dir), `${JSON.stringify({ stamp: await currentStamp() } satisfies Stamp)}\n`);
  return true;
}

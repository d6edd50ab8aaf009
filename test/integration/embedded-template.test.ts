import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasEmbeddedCluster, openDatabase } from '../../src/db/database.js';
import { seedEmbeddedCluster, writeEmbeddedTemplate } from '../../src/db/embedded-template.js';
import { MIGRATIONS, migrateToLatest } from '../../src/db/migrate.js';
import { databaseKind } from '../support/database.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'personae-template-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

// The template is the embedded database's first start; the services suite has no embedded database.
describe.skipIf(databaseKind !== 'embedded')('the embedded first-start template', () => {
  const build = tempDir();

  it('is built once, migrated, and seeds an empty data folder that then opens, migrated and writable, across restarts', async () => {
    expect(await writeEmbeddedTemplate(build)).toBe(true);
    expect(await writeEmbeddedTemplate(build)).toBe(false); // up to date: the build step is then free

    const dataDir = tempDir();
    expect(await seedEmbeddedCluster(dataDir, build)).toBe(true);
    expect(hasEmbeddedCluster(dataDir)).toBe(true);
    expect(await seedEmbeddedCluster(dataDir, build)).toBe(false); // never over an existing cluster

    const first = openDatabase({ dataDir });
    const applied = await first.db.selectFrom('kysely_migration' as never).select('name' as never).execute();
    expect(applied).toHaveLength(Object.keys(MIGRATIONS).length);
    expect((await migrateToLatest(first.db)).results).toEqual([]);
    await first.db.insertInto('accountability_profiles').defaultValues().execute();
    await first.close();

    const second = openDatabase({ dataDir });
    const profiles = await second.db.selectFrom('accountability_profiles').select('id').execute();
    expect(profiles).toHaveLength(1);
    await second.close();
    // initdb, every migration and three starts of the database: about 10 s alone, far more beside a busy suite.
  }, 120_000);

  it('is not used when its stamp does not match this PGlite and these migrations', async () => {
    writeFileSync(join(build, 'embedded-template.json'), `${JSON.stringify({ stamp: 'made by another build' })}\n`);
    const dataDir = tempDir();
    expect(await seedEmbeddedCluster(dataDir, build)).toBe(false);
    expect(hasEmbeddedCluster(dataDir)).toBe(false);
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openTerritoryDatabases, type TerritoryDatabases } from '../../src/db/territory-databases.js';
import type { TerritoryDatabase } from '../../src/db/territory-schema.js';
import { scheduleHousekeeping } from '../../src/jobs/housekeeping.js';
import type { PeriodicTask } from '../../src/jobs/periodic-task.js';
import { createAccountSecretStore } from '../../src/modules/accounts/account-secret-repository.js';
import { testEnvironment } from '../support/app.js';
import { databaseKind, openTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * When the service's orphan sweep runs (src/jobs/housekeeping.ts): a minute after start, so a node
 * restarted more often than ORPHAN_SWEEP_INTERVAL_SECONDS still sweeps, and once more a grace period
 * later, so it deletes voluntary identification nothing points at too. The timers are faked (and
 * only they: the database runs for real, on its own database with no service around it).
 */
describe(`the orphan sweep's schedule (${databaseKind})`, () => {
  let database: TestDatabase;
  let databases: TerritoryDatabases;
  let tasks: PeriodicTask[] = [];
  beforeAll(async () => {
    database = await openTestDatabase();
    databases = openTerritoryDatabases(database.db, {});
  });
  afterEach(async () => {
    await Promise.all(tasks.map((task) => task.stop()));
    vi.useRealTimers();
  });
  afterAll(() => database?.drop());

  const territory = () => database.db.withSchema('territory_main') as unknown as Kysely<TerritoryDatabase>;
  /** What is left of an account that never committed and of a browser's identification nothing points at. */
  const left = async (accountId: string, lookupKey: Buffer) => ({
    email: (await territory().selectFrom('account_emails').select('account_id').where('account_id', '=', accountId).execute()).length,
    identification: (await territory().selectFrom('sealed_identity_links').select('lookup_key').where('lookup_key', '=', lookupKey).execute()).length,
  });
  /** Polls with real time (node:timers/promises is not faked) until `done` holds (5 s at most). */
  async function until(done: () => Promise<boolean> | boolean) {
    for (const started = Date.now(); !(await done()); await delay(20)) {
      if (Date.now() - started > 5_000) throw new Error('timed out waiting');
    }
  }

  it('sweeps a minute after start, not an interval later, and unpointed identification a grace period after that', async () => {
    const [accountId, lookupKey] = [randomUUID(), randomBytes(32)];
    await territory().insertInto('account_emails').values({ account_id: accountId, key_id: 'k1', sealed: randomBytes(48) }).execute();
    await territory().insertInto('sealed_identity_links').values({ lookup_key: lookupKey, sealed: randomBytes(64) }).execute();
    // The defaults (an hour, ten minutes), with the other jobs off; the clock is an hour ahead, so the rows are old.
    const config = loadConfig(testEnvironment({ PURGE_INTERVAL_SECONDS: '0', PRUNE_INTERVAL_SECONDS: '0', TABLE_MAINTENANCE_INTERVAL_SECONDS: '0' }));
    expect(config.orphanSweep).toEqual({ intervalSeconds: 3600, graceSeconds: 600 });
    let now = Date.now() + 3_600_000;
    // What the sweeps report once finished (logged when they deleted something).
    const reports: Array<Record<string, number>> = [];
    const logger = pino({ level: 'info' }, {
      write: (line: string) => {
        const deleted = JSON.parse(line)['orphan sweep']?.deleted;
        if (deleted) reports.push(deleted);
      },
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    tasks = scheduleHousekeeping({
      config, db: database.db, databaseKind: database.kind, clock: { now: () => new Date(now) }, logger,
      accountSecrets: createAccountSecretStore(database.db, databases), territoryDatabases: databases, registry: new Registry(), bumpIdentityGeneration: async () => {},
    });

    await vi.advanceTimersByTimeAsync(59_000);
    await delay(100);
    expect([reports, await left(accountId, lookupKey)]).toEqual([[], { email: 1, identification: 1 }]);
    await vi.advanceTimersByTimeAsync(1_000);
    // The first sweep: the row naming nobody goes; the identification is seen unpointed for the first time.
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ account_emails: 1 });
    expect(await left(accountId, lookupKey)).toEqual({ email: 0, identification: 1 });

    now += 601_000;
    await vi.advanceTimersByTimeAsync(601_000);
    await until(() => reports.length === 2);
    expect(reports[1]).toEqual({ sealed_identity_links: 1 });
    expect(await left(accountId, lookupKey)).toEqual({ email: 0, identification: 0 });
  });
});

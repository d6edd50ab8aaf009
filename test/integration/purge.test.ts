import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { runCommand } from '../../src/commands.js';
import { openDatabase } from '../../src/db/database.js';
import { openTerritoryDatabases } from '../../src/db/territory-databases.js';
import { createAccountSecretStore } from '../../src/modules/accounts/account-secret-repository.js';
import { createPurgeRepository } from '../../src/modules/personas/purge-repository.js';
import { createPurgeService } from '../../src/modules/personas/purge-service.js';
import { startTestApp, testEnvironment, Visitor, type TestApp } from '../support/app.js';
import { Browser, newPerson } from '../support/browser.js';
import { territoryDb } from '../support/territory-db.js';
import { createEmptyPostgresDatabase, databaseKind, postgresUrl } from '../support/database.js';

class TestClock implements Clock {
  #at = Date.now();
  now = () => new Date(this.#at);
  advanceDays(days: number): void {
    this.#at += days * 86_400_000;
  }
}

const DAY = 86_400_000;
const clock = new TestClock();
let test: TestApp;
beforeAll(async () => {
  test = await startTestApp({ clock });
});
afterAll(() => test.close());

const db = () => test.database.db;
/** The purge as the job runs it, at a moment chosen by the test. */
const purgeAt = (at: Date) => createPurgeService({ purge: createPurgeRepository(db(), createAccountSecretStore(db(), openTerritoryDatabases(db(), {}))), clock: { now: () => at } }).run();
const later = (days: number) => new Date(clock.now().getTime() + days * DAY);
const exists = async (id: string) => (await db().selectFrom('personas').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
const purgedEvents = async (id: string) =>
  (await db().selectFrom('outbox').select('payload').where('type', '=', 'PersonaPurged').execute()).filter((r) => r.payload.personaId === id).length;

/** A started visitor whose default persona has been deactivated now (due in 90 days). */
async function deactivated() {
  const visitor = new Visitor(test.app);
  const { persona } = await visitor.start();
  const response = await visitor.request('POST', `/personas/${persona.id}/deactivate`);
  expect(response.statusCode, response.body).toBe(200);
  const { accountability_profile_id: profileId } = await db()
    .selectFrom('personas').select('accountability_profile_id').where('id', '=', persona.id).executeTakeFirstOrThrow();
  return { visitor, persona, profileId };
}

describe('the purge', () => {
  it('hard-deletes a deactivated persona once its grace period is over, with PersonaPurged, and not before', async () => {
    const { visitor, persona } = await deactivated();
    await purgeAt(later(89));
    expect(await exists(persona.id)).toBe(true);

    const report = await purgeAt(later(90.01));
    expect(report.purged).toBeGreaterThanOrEqual(1);
    expect(await exists(persona.id)).toBe(false);
    expect(await purgedEvents(persona.id)).toBe(1);
    expect(await db().selectFrom('persona_access').select('account_id').where('persona_id', '=', persona.id).execute()).toEqual([]);
    expect((await visitor.request('GET', '/personas')).json().personas).toEqual([]);
    // The person, and their accountability, outlive the persona.
    expect((await visitor.request('GET', '/session')).json()).toMatchObject({ started: true, persona: null });
  });

  it("takes a purged persona's session-wallet key out of its person's territory (no cascade reaches there)", async () => {
    const browser = new Browser(test.app);
    const registered = await browser.register(newPerson('purged-wallet'));
    expect(registered.statusCode, registered.body).toBe(201);
    const personaId = registered.json().personaId as string;
    const made = await browser.request('POST', `/api/v2/profiles/${personaId}/session-wallet`);
    expect(made.statusCode, made.body).toBe(201);
    const keys = () => territoryDb(db()).selectFrom('persona_wallet_keys').select('persona_id').where('persona_id', '=', personaId).execute();
    expect(await keys()).toHaveLength(1);
    const off = await browser.request('POST', `/personas/${personaId}/deactivate`);
    expect(off.statusCode, off.body).toBe(200);
    await purgeAt(later(90.01));
    expect(await exists(personaId)).toBe(false);
    expect(await keys()).toEqual([]);
    expect(await db().selectFrom('persona_wallets').select('address').where('persona_id', '=', personaId).execute()).toEqual([]);
  });

  it('is idempotent: a second run purges nothing and announces nothing again', async () => {
    const { persona } = await deactivated();
    const at = later(91);
    await purgeAt(at);
    expect(await purgeAt(at)).toEqual({ purged: 0, holdsReleased: 0, retiredMethodsForgotten: 0 });
    expect(await purgedEvents(persona.id)).toBe(1);
  });

  it('never purges under a legal hold, and does once the hold is released', async () => {
    const { persona, profileId } = await deactivated();
    await db().updateTable('accountability_profiles').set({ legal_hold: true }).where('id', '=', profileId).execute();
    await purgeAt(later(365));
    expect(await exists(persona.id)).toBe(true);
    await db().updateTable('accountability_profiles').set({ legal_hold: false }).where('id', '=', profileId).execute();
    await purgeAt(later(365));
    expect(await exists(persona.id)).toBe(false);
  });

  it('never purges a persona with an open appeal (edge case 4), and does once it is resolved', async () => {
    const { persona, profileId } = await deactivated();
    const appeal = await db()
      .insertInto('appeals')
      .values({ persona_id: persona.id, accountability_profile_id: profileId })
      .returning('id')
      .executeTakeFirstOrThrow();
    await purgeAt(later(365));
    expect(await exists(persona.id)).toBe(true);
    await db().updateTable('appeals').set({ status: 'upheld', resolved_at: new Date() }).where('id', '=', appeal.id).execute();
    await purgeAt(later(365));
    expect(await exists(persona.id)).toBe(false);
    // The resolved appeal stays on record, no longer pointing at the purged persona.
    expect(await db().selectFrom('appeals').select(['persona_id', 'status']).where('id', '=', appeal.id).executeTakeFirst()).toEqual({
      persona_id: null,
      status: 'upheld',
    });
  });

  it('purges rotated-away and permanently deleted personas after 90 days, keeping the live successor', async () => {
    const visitor = new Visitor(test.app);
    const { persona } = await visitor.start();
    const rotated = await visitor.request('POST', `/personas/${persona.id}/rotate`, { newDisplayName: `Next ${randomUUID().slice(0, 8)}` });
    const successor = rotated.json().persona;
    const other = new Visitor(test.app);
    const created = (await other.request('POST', '/personas', { displayName: `Gone ${randomUUID().slice(0, 8)}` })).json().persona;
    expect((await other.request('POST', `/personas/${created.id}/delete-permanent`)).statusCode).toBe(200);

    await purgeAt(later(90.01));
    expect(await exists(persona.id)).toBe(false);
    expect(await exists(created.id)).toBe(false);
    expect(await db().selectFrom('personas').select(['is_active', 'rotated_from']).where('id', '=', successor.id).executeTakeFirst()).toEqual({
      is_active: true,
      rotated_from: null,
    });
  });

  it('forgets display-name holds once their window has passed', async () => {
    const { persona } = await deactivated();
    const key = persona.displayName.toLowerCase();
    const held = () => db().selectFrom('display_name_holds').select('display_name_key').where('display_name_key', '=', key).execute();
    expect(await held()).toHaveLength(1);
    const report = await purgeAt(later(30.01));
    expect(report.holdsReleased).toBeGreaterThanOrEqual(1);
    expect(await held()).toEqual([]);
  });

  it(`purges each persona once when runs overlap (${databaseKind})`, async () => {
    const personas = await Promise.all(Array.from({ length: 6 }, async () => (await deactivated()).persona));
    const at = later(120);
    const reports = await Promise.all([purgeAt(at), purgeAt(at), purgeAt(at)]);
    for (const persona of personas) {
      expect(await exists(persona.id)).toBe(false);
      expect(await purgedEvents(persona.id)).toBe(1);
    }
    expect(reports.reduce((sum, report) => sum + report.purged, 0)).toBeGreaterThanOrEqual(personas.length);
  });
});

describe('the in-process purge task', () => {
  it('runs every PURGE_INTERVAL_SECONDS inside the service, and stops with it', async () => {
    const { persona } = await deactivated();
    // A second node on the same database, whose clock is past the grace period.
    const node = await startTestApp({ database: test.database, clock: { now: () => later(100) }, env: { PURGE_INTERVAL_SECONDS: '1' } });
    try {
      for (let waited = 0; waited < 10_000 && (await exists(persona.id)); waited += 100) await delay(100);
      expect(await exists(persona.id)).toBe(false);
    } finally {
      await node.close();
    }
    expect(node.logs.join('')).toContain('purge finished');
  });
});

describe('the purge command (npm run purge, node dist/cli.js purge)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'personae-purge-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('purges what is due in the configured database and reports it', async () => {
    // Its own database, as an operator's cron job would reach it: a PostgreSQL database, or an embedded one on disk.
    const server = postgresUrl ? await createEmptyPostgresDatabase() : null;
    const env = testEnvironment({ DATA_DIR: dataDir, ...(server ? { DATABASE_URL: server.url } : {}) });
    const lines: string[] = [];
    const run = (command: string) => runCommand(command, { env, print: (line) => lines.push(line), printError: (line) => lines.push(line) });
    const open = () => openDatabase({ url: server?.url, dataDir });
    const seeded = randomUUID();
    try {
      expect(await run('migrate')).toBe(0);
      const database = open();
      try {
        const profile = await database.db.insertInto('accountability_profiles').defaultValues().returning('id').executeTakeFirstOrThrow();
        await database.db
          .insertInto('personas')
          .values({
            id: seeded, accountability_profile_id: profile.id, display_name: 'Due', display_name_key: 'due', author_id: 'k1.due',
            is_active: false, deactivated_at: new Date(Date.now() - 91 * DAY), purge_after: new Date(Date.now() - DAY),
          })
          .execute();
      } finally {
        await database.close();
      }
      expect(await run('purge')).toBe(0);
      expect(lines.at(-1)).toBe('purged 1 persona(s); released 0 display-name hold(s); forgot 0 retired sign-in method(s)');
      const reopened = open();
      try {
        expect(await reopened.db.selectFrom('personas').select('id').where('id', '=', seeded).execute()).toEqual([]);
        const events = await reopened.db.selectFrom('outbox').select('payload').where('type', '=', 'PersonaPurged').execute();
        expect(events.map((event) => event.payload)).toEqual([{ personaId: seeded }]);
      } finally {
        await reopened.close();
      }
      expect(await run('purgee')).toBe(2);
      expect(lines.at(-1)).toContain('purge ');
    } finally {
      await server?.drop();
    }
  }, 120_000);
});

import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.js';
import { createTableMaintenance } from '../../src/db/table-maintenance.js';
import { activePersonaQuery } from '../../src/modules/accounts/account-repository.js';
import { listedPersonasQuery } from '../../src/modules/personas/persona-repository.js';
import { createSessionRepository, type NewGuest } from '../../src/modules/sessions/session-repository.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Issue 12: the soak's CPU per request grew with the guests made. Where autovacuum does not run (the
 * embedded database; this machine's PostgreSQL, `autovacuum = off`), no table ever had statistics,
 * and the planner read every persona for one account's (GET /personas, sign-in).
 */

const GUESTS = 3000;
let database: TestDatabase;
let db: Db;
let guests: NewGuest[];

/** Guests as POST /session writes them (the service's own statement), in batches. */
async function seedGuests(count: number): Promise<NewGuest[]> {
  const made = Array.from({ length: count }, (_, index): NewGuest => {
    const personaId = randomUUID();
    return {
      tokenHash: randomBytes(32), client: 'browser', profileId: randomUUID(), accountId: randomUUID(), sessionId: randomUUID(),
      personaId, displayName: `Seed Guest ${index}`, displayNameKey: `seed guest ${index}`, authorId: `seed-${personaId}`,
    };
  });
  const sessions = createSessionRepository(db);
  for (let start = 0; start < count; start += 250) {
    const result = await sessions.createGuests(made.slice(start, start + 250));
    expect(result.created).toBe(true);
  }
  return made;
}

async function plan(query: { explain(): Promise<Array<Record<string, unknown>>> }): Promise<string> {
  return (await query.explain()).map((row) => String(row['QUERY PLAN'])).join('\n');
}

async function statsOf(table: string) {
  const { rows } = await sql<{ analyzed: boolean; vacuumed: boolean }>`
    select coalesce(last_analyze, last_autoanalyze) is not null as analyzed, coalesce(last_vacuum, last_autovacuum) is not null as vacuumed
    from pg_stat_user_tables where schemaname = 'public' and relname = ${table}`.execute(db);
  return rows[0];
}

beforeAll(async () => {
  // One connection: the counters the maintenance reads are this backend's, flushed on demand below.
  database = await openTestDatabase({ poolSize: 1 });
  db = database.db;
  guests = await seedGuests(GUESTS);
  // Backends report their counters to the statistics system at most once a second; now, please.
  await sql`select pg_stat_force_next_flush()`.execute(db);
});
afterAll(() => database.drop());

describe('table maintenance', () => {
  it('analyzes and vacuums as autovacuum would where it does not run, after which one account\'s personas are read by index (with the embedded database\'s coarse statistics too)', async () => {
    const maintenance = createTableMaintenance(database);
    const { rows } = await sql<{ runs: boolean }>`select current_setting('autovacuum') = 'on' as runs`.execute(db);
    const autovacuumRuns = database.kind === 'postgres' && rows[0]!.runs;
    // On the embedded database every command runs on the request thread: the round must give way
    // between tables, or a request arriving meanwhile waits for all of it.
    let roundOver = false;
    let servedDuringRound = false;
    setImmediate(() => (servedDuringRound = !roundOver));
    const report = await maintenance.run();
    roundOver = true;
    if (!autovacuumRuns) expect(servedDuringRound).toBe(true);
    if (autovacuumRuns) {
      // The server's own autovacuum is in charge: nothing to do here (and nothing to contend with it).
      expect(report).toEqual({ analyzed: 0, vacuumed: 0 });
      await sql`analyze`.execute(db);
    } else {
      if (database.kind === 'embedded') {
        // The round runs on the request thread: a coarse sample keeps each ANALYZE short (database.ts).
        const { rows: target } = await sql<{ value: string }>`select current_setting('default_statistics_target') as value`.execute(db);
        expect(target[0]!.value).toBe('10');
      }
      // personas, sessions, accounts, persona_access, accountability_profiles at least.
      expect(report.analyzed).toBeGreaterThanOrEqual(5);
      expect(report.vacuumed).toBeGreaterThanOrEqual(5);
      expect(await statsOf('personas')).toEqual({ analyzed: true, vacuumed: true });
      expect(await statsOf('sessions')).toEqual({ analyzed: true, vacuumed: true });
      // Done until enough changes again.
      expect(await maintenance.run()).toEqual({ analyzed: 0, vacuumed: 0 });
    }

    const guest = guests[7]!;
    const listed = await plan(listedPersonasQuery(db, guest.accountId));
    const active = await plan(activePersonaQuery(db, guest.accountId));
    for (const text of [listed, active]) {
      expect(text).not.toMatch(/Seq Scan on personas|personas_live_display_name_unique/);
      expect(text).toMatch(/Index (Only )?Scan using persona_access_pkey/);
    }
  });

  it('follows a reference into personas and sessions by index (migration 0018), as deleting a persona or an account does', async () => {
    const one = guests[11]!;
    // The rows the foreign keys' `on delete set null` (and the service's own writes) look for.
    const bySessionPersona = await plan(db.selectFrom('sessions').select('id').where('active_persona_id', '=', one.personaId));
    const bySuccessor = await plan(db.selectFrom('personas').select('id').where('rotated_from', '=', one.personaId));
    const byOwner = await plan(db.selectFrom('personas').select('id').where('owner_account_id', '=', one.accountId));
    expect(bySessionPersona).toContain('sessions_active_persona_idx');
    expect(bySuccessor).toContain('personas_rotated_from_idx');
    expect(byOwner).toContain('personas_owner_account_idx');
  });
});

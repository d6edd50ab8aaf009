import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.js';
import { createSessionRepository, type NewGuest, type SessionRepository } from '../../src/modules/sessions/session-repository.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Issue 12: the session lookups that miss the cache together go to the database as one statement
 * (migration 0020). Each caller must still get its own session, and nothing but its own: the
 * unknown, the expired and the banned as the database says at that moment.
 */

const GUESTS = 2000;
let database: TestDatabase;
let db: Db;
let sessions: SessionRepository;
let guests: NewGuest[];

function newGuest(index: number): NewGuest {
  const personaId = randomUUID();
  return {
    tokenHash: randomBytes(32), client: 'browser', profileId: randomUUID(), accountId: randomUUID(), sessionId: randomUUID(),
    personaId, displayName: `Batch Guest ${index}`, displayNameKey: `batch guest ${index}`, authorId: `batch-${personaId}`,
  };
}

/** Rows the four tables of a lookup gave to sequential scans so far (this backend's counters, flushed). */
async function rowsReadBySequentialScans(): Promise<number> {
  await sql`select pg_stat_force_next_flush()`.execute(db);
  const { rows } = await sql<{ rows: string }>`
    select coalesce(sum(seq_tup_read), 0)::bigint::text as rows from pg_stat_user_tables
    where schemaname = 'public' and relname in ('sessions', 'accounts', 'accountability_profiles', 'personas')`.execute(db);
  return Number(rows[0]!.rows);
}

/** How many times the batch lookup function has been called (track_functions is on for this connection). */
async function lookupCalls(): Promise<number> {
  await sql`select pg_stat_force_next_flush()`.execute(db);
  const { rows } = await sql<{ calls: string }>`
    select coalesce(sum(calls), 0)::bigint::text as calls from pg_stat_user_functions where funcname = 'session_lookup_by_token_hashes'`.execute(db);
  return Number(rows[0]!.calls);
}

beforeAll(async () => {
  // One connection, so the statistics read below are the very backend's that ran the lookups.
  database = await openTestDatabase({ poolSize: 1 });
  db = database.db;
  await sql`set track_functions = 'pl'`.execute(db);
  sessions = createSessionRepository(db, { lookupBatch: { maxBatch: 64, concurrency: 1 } });
  guests = Array.from({ length: GUESTS }, (_, index) => newGuest(index));
  for (let start = 0; start < GUESTS; start += 250) {
    expect((await sessions.createGuests(guests.slice(start, start + 250))).created).toBe(true);
  }
});
afterAll(() => database.drop());

describe('session lookups that miss the cache together', () => {
  it('are one statement, and each caller gets its own session', async () => {
    const asked = guests.slice(100, 140);
    const callsBefore = await lookupCalls();
    const found = await Promise.all(asked.map((guest) => sessions.find(guest.tokenHash)));
    expect(await lookupCalls()).toBe(callsBefore + 1);
    found.forEach((session, index) => {
      const guest = asked[index]!;
      expect(session?.context).toMatchObject({
        sessionId: guest.sessionId,
        accountId: guest.accountId,
        accountType: 'guest',
        accountabilityProfileId: guest.profileId,
        banned: false,
        persona: { id: guest.personaId, displayName: guest.displayName, trustLevel: 'NEW', authorId: guest.authorId, verified: false },
      });
      expect(session?.touchDue).toBe(false);
    });
  });

  it('answers null for an unknown or expired token, the banned as banned, and the same token asked twice to both', async () => {
    const [expired, banned, twice, plain] = [guests[200]!, guests[201]!, guests[202]!, guests[203]!];
    await db.updateTable('sessions').set({ expires_at: sql<Date>`now() - interval '1 second'` }).where('id', '=', expired.sessionId).execute();
    await db.updateTable('accountability_profiles').set({ banned_at: sql<Date>`now()` }).where('id', '=', banned.profileId).execute();

    const callsBefore = await lookupCalls();
    const [unknown, gone, ban, first, second, alone] = await Promise.all(
      [randomBytes(32), expired.tokenHash, banned.tokenHash, twice.tokenHash, twice.tokenHash, plain.tokenHash].map((hash) => sessions.find(hash)),
    );
    expect(await lookupCalls()).toBe(callsBefore + 1);
    expect(unknown).toBeNull();
    expect(gone).toBeNull();
    expect(ban?.context).toMatchObject({ sessionId: banned.sessionId, banned: true });
    expect(first?.context.sessionId).toBe(twice.sessionId);
    expect(second?.context.sessionId).toBe(twice.sessionId);
    expect(alone?.context.sessionId).toBe(plain.sessionId);
  });

  it('probes the index for each token, however small the tables were when the connection planned it', async () => {
    const before = await rowsReadBySequentialScans();
    // More statements than PL/pgSQL's five custom plans, so the kept plan is in use by the end.
    for (let round = 0; round < 8; round++) {
      const asked = guests.slice(500 + round * 64, 500 + (round + 1) * 64);
      const found = await Promise.all(asked.map((guest) => sessions.find(guest.tokenHash)));
      expect(found.every((session, index) => session?.context.sessionId === asked[index]!.sessionId)).toBe(true);
    }
    // A plan that reads any of the four tables whole reads thousands of rows per statement.
    expect((await rowsReadBySequentialScans()) - before).toBeLessThan(100);
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { runCommand } from '../../src/commands.js';
import type { Db } from '../../src/db/database.js';
import { createRetentionRepository } from '../../src/modules/retention/retention-repository.js';
import { createRetentionService, type RetentionService } from '../../src/modules/retention/retention-service.js';
import { startTestApp, testEnvironment } from '../support/app.js';
import { openTestDatabase, postgresUrl, type TestDatabase } from '../support/database.js';

/**
 * Pruning on a real database (PGlite, or PostgreSQL with DATABASE_URL): rows of every kind, old and
 * recent, done with and still in use, written straight into the tables with the ages they would have.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.drop());

const MAX_ATTEMPTS = 12;
const policy = { eventSeconds: 7 * 86_400, expiredSeconds: 86_400, sendWindowSeconds: 3600, signingKeyPublishSeconds: 660 };

/** Batches of two, so every kind takes several rounds. */
function service(db: Db, batchSize = 2): RetentionService {
  return createRetentionService({ retention: createRetentionRepository(db, { webhookMaxAttempts: MAX_ATTEMPTS }), policy, clock: systemClock, batchSize });
}

/** `now() - <ago>` in the database's clock, which wrote every timestamp. */
const ago = (interval: string) => sql<Date>`now() - ${interval}::interval`;

async function event(db: Db, dispatchedAgo: string | null, occurredAgo = '30 days'): Promise<string> {
  const row = await db
    .insertInto('outbox')
    .values({
      type: 'PersonBanned',
      payload: JSON.stringify({ accountabilityProfileId: randomUUID() }),
      occurred_at: ago(occurredAgo),
      dispatched_at: dispatchedAgo === null ? null : ago(dispatchedAgo),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function webhook(db: Db, revoked = false): Promise<string> {
  const row = await db
    .insertInto('webhooks')
    .values({ url: 'https://hooks.example.org/in', secret_sealed: randomBytes(48), revoked_at: revoked ? ago('1 day') : null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function delivery(db: Db, eventId: string, webhookId: string, state: 'delivered' | 'pending' | 'given up' | 'out of attempts'): Promise<void> {
  await db
    .insertInto('webhook_deliveries')
    .values({
      event_id: eventId,
      webhook_id: webhookId,
      attempts: state === 'out of attempts' ? MAX_ATTEMPTS : 3,
      next_attempt_at: state === 'given up' ? sql<Date>`'infinity'::timestamptz` : sql<Date>`now() + interval '10 minutes'`,
      delivered_at: state === 'delivered' ? ago('8 days') : null,
      last_error: state === 'delivered' ? null : 'HTTP 503',
    })
    .execute();
}

async function verification(db: Db, expiredAgo: string, consumed = false): Promise<string> {
  const row = await db
    .insertInto('verifications')
    .values({
      strategy: 'email',
      challenge_hash: randomBytes(32),
      subject_key: randomBytes(32),
      created_at: sql<Date>`now() - ${expiredAgo}::interval - interval '10 minutes'`,
      expires_at: ago(expiredAgo),
      consumed_at: consumed ? ago('1 minute') : null,
    } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function account(db: Db): Promise<string> {
  const profile = await db.insertInto('accountability_profiles').defaultValues().returning('id').executeTakeFirstOrThrow();
  const row = await db
    .insertInto('accounts')
    .values({ type: 'email', lookup_key: randomBytes(32), accountability_profile_id: profile.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function session(db: Db, accountId: string, shape: { expires: string | null; idleSeconds: number | null; lastSeenAgo: string }): Promise<string> {
  const row = await db
    .insertInto('sessions')
    .values({
      token_hash: randomBytes(32),
      account_id: accountId,
      expires_at: shape.expires === null ? null : sql<Date>`now() + ${shape.expires}::interval`,
      idle_timeout_seconds: shape.idleSeconds,
      last_seen_at: ago(shape.lastSeenAgo),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function signingKey(db: Db, retiredAgo: string | null): Promise<string> {
  const kid = randomBytes(8).toString('hex');
  await db
    .insertInto('signing_keys')
    .values({ kid, public_jwk: JSON.stringify({ kty: 'OKP' }), key_id: 'k1', private_sealed: randomBytes(48), retired_at: retiredAgo === null ? null : ago(retiredAgo) })
    .execute();
  return kid;
}

const ids = async (db: Db, table: 'outbox' | 'verifications' | 'sessions', column: 'id' = 'id') =>
  new Set((await db.selectFrom(table).select(column).execute()).map((row) => row.id));

describe('pruning rows past their retention', () => {
  it('deletes delivered events, spent challenges, ended sessions and unpublished keys, and keeps everything still in use', async () => {
    const db = database.db;
    const active = await webhook(db);
    const revoked = await webhook(db, true);

    const gone = {
      delivered: await event(db, '8 days'),
      deliveredToWebhook: await event(db, '8 days'),
      givenUp: await event(db, '8 days'),
      outOfAttempts: await event(db, '8 days'),
      pendingForRevokedWebhook: await event(db, '8 days'),
    };
    const kept = {
      awaitingRetry: await event(db, '8 days'),
      recent: await event(db, '6 days'),
      undispatched: await event(db, null, '30 days'),
    };
    await delivery(db, gone.deliveredToWebhook, active, 'delivered');
    await delivery(db, gone.givenUp, active, 'given up');
    await delivery(db, gone.outOfAttempts, active, 'out of attempts');
    await delivery(db, gone.pendingForRevokedWebhook, revoked, 'pending');
    await delivery(db, kept.awaitingRetry, active, 'delivered');
    await delivery(db, kept.awaitingRetry, revoked, 'delivered');
    const retrying = await webhook(db);
    await delivery(db, kept.awaitingRetry, retrying, 'pending');

    const staleChallenge = await verification(db, '2 days');
    const usedStaleChallenge = await verification(db, '3 days', true);
    const recentChallenge = await verification(db, '2 hours');
    const liveUsedChallenge = await verification(db, '-5 minutes', true);

    const owner = await account(db);
    const guest = await session(db, owner, { expires: null, idleSeconds: null, lastSeenAgo: '400 days' });
    const longOver = await session(db, owner, { expires: '-2 days', idleSeconds: 604_800, lastSeenAgo: '3 days' });
    await db.insertInto('refresh_tokens').values({ token_hash: randomBytes(32), session_id: longOver }).execute();
    const idleLongAgo = await session(db, owner, { expires: '20 days', idleSeconds: 3600, lastSeenAgo: '2 days' });
    const justEnded = await session(db, owner, { expires: '-1 hour', idleSeconds: 604_800, lastSeenAgo: '2 hours' });
    const justIdle = await session(db, owner, { expires: '20 days', idleSeconds: 3600, lastSeenAgo: '3 hours' });
    const live = await session(db, owner, { expires: '20 days', idleSeconds: 3600, lastSeenAgo: '5 minutes' });

    const oldKey = await signingKey(db, '3 days');
    const publishedKey = await signingKey(db, '5 minutes');
    const currentKey = await signingKey(db, null);

    const report = await service(db).prune();

    expect(report).toEqual({ events: 5, verifications: 2, sessions: 2, signingKeys: 1 });
    const events = await ids(db, 'outbox');
    for (const id of Object.values(gone)) expect(events.has(id)).toBe(false);
    for (const id of Object.values(kept)) expect(events.has(id)).toBe(true);
    // Deliveries went with their events; the retried event keeps all three of its own.
    const deliveries = await db.selectFrom('webhook_deliveries').select(['event_id', 'webhook_id']).execute();
    expect(deliveries.map((row) => row.event_id).sort()).toEqual([kept.awaitingRetry, kept.awaitingRetry, kept.awaitingRetry]);

    const challenges = await ids(db, 'verifications');
    expect([staleChallenge, usedStaleChallenge].map((id) => challenges.has(id))).toEqual([false, false]);
    expect([recentChallenge, liveUsedChallenge].map((id) => challenges.has(id))).toEqual([true, true]);

    const sessions = await ids(db, 'sessions');
    expect([longOver, idleLongAgo].map((id) => sessions.has(id))).toEqual([false, false]);
    expect([guest, justEnded, justIdle, live].map((id) => sessions.has(id))).toEqual([true, true, true, true]);
    expect(await db.selectFrom('refresh_tokens').select('session_id').where('session_id', '=', longOver).execute()).toEqual([]);

    const keys = new Set((await db.selectFrom('signing_keys').select('kid').execute()).map((row) => row.kid));
    expect([keys.has(oldKey), keys.has(publishedKey), keys.has(currentKey)]).toEqual([false, true, true]);

    // Idempotent: nothing left past retention.
    expect(await service(db).prune()).toEqual({ events: 0, verifications: 0, sessions: 0, signingKeys: 0 });
    // The made-up keys would not load in a service started on this database later.
    await db.deleteFrom('signing_keys').execute();
  });

  it('never deletes a challenge the email send limit still counts, whatever the retention', async () => {
    const db = database.db;
    // Expired 90 minutes ago, made just before: past a 1-minute retention, inside a 2-hour send window.
    const counted = await verification(db, '90 minutes');
    const short = createRetentionService({
      retention: createRetentionRepository(db, { webhookMaxAttempts: MAX_ATTEMPTS }),
      policy: { ...policy, expiredSeconds: 60, sendWindowSeconds: 7200 },
      clock: systemClock,
    });
    await short.prune();
    expect((await ids(db, 'verifications')).has(counted)).toBe(true);
  });

  it('drains a backlog in batches, and two pruners at once delete each row once', async () => {
    const db = database.db;
    for (let index = 0; index < 25; index++) await event(db, '10 days');
    // Two nodes of one deployment (on PGlite the one connection takes them in turn).
    const reports = await Promise.all([service(db, 4).prune(), service(db, 4).prune()]);
    expect(reports[0].events + reports[1].events).toBe(25);
    expect(await db.selectFrom('outbox').select('id').where('dispatched_at', '<', ago('9 days')).execute()).toEqual([]);
  });

  it('runs as `prune` from the command line', async () => {
    await event(database.db, '9 days');
    const lines: string[] = [];
    const code = await runCommand('prune', { env: testEnvironment(postgresUrl ? { DATABASE_URL: postgresUrl } : {}), database, print: (line) => lines.push(line) });
    expect(code).toBe(0);
    expect(lines).toEqual(['pruned 1 event(s), 0 challenge(s), 0 session(s), 0 signing key(s)']);
  });

  it('runs inside the service every PRUNE_INTERVAL_SECONDS', async () => {
    const old = await event(database.db, '12 days');
    const node = await startTestApp({ database, env: { PRUNE_INTERVAL_SECONDS: '1' } });
    try {
      // The run's report is logged once every kind is done (the event goes first).
      const reported = () => node.logs.some((line) => line.includes('"prune finished"'));
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !reported()) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(reported()).toBe(true);
      expect((await ids(database.db, 'outbox')).has(old)).toBe(false);
    } finally {
      await node.close();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';
import { databaseKind } from '../support/database.js';

/**
 * Limits under concurrency and all-or-nothing changes. On PostgreSQL (DATABASE_URL) the requests
 * truly run in parallel on separate connections; on PGlite they are serialized, which proves less.
 */
let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());
afterEach(async () => {
  await test.database.db.deleteFrom('policies').execute();
});

const db = () => test.database.db;
const uniqueName = (prefix = 'Racer') => `${prefix} ${randomUUID().slice(0, 8)}`;

async function setPolicy(name: string, value: unknown) {
  const response = await test.app.inject({ method: 'PUT', url: `/admin/policies/${name}`, headers: test.adminHeaders, payload: { value } });
  expect(response.statusCode, response.body).toBe(200);
}

async function started() {
  const visitor = new Visitor(test.app);
  const { persona } = await visitor.start();
  return { visitor, initial: persona };
}

async function livePersonasOf(personaId: string): Promise<number> {
  const rows = await db()
    .selectFrom('personas as p')
    .innerJoin('personas as mine', 'mine.accountability_profile_id', 'p.accountability_profile_id')
    .select('p.id')
    .where('mine.id', '=', personaId)
    .where('p.is_active', '=', true)
    .where('p.deleted_at', 'is', null)
    .execute();
  return rows.length;
}

const statuses = (responses: Array<{ statusCode: number }>) =>
  responses.map((response) => response.statusCode).reduce<Record<number, number>>((count, status) => ({ ...count, [status]: (count[status] ?? 0) + 1 }), {});

describe(`persona limits under concurrency (${databaseKind})`, () => {
  it('20 parallel creations by one person leave exactly 3 live personas', async () => {
    await setPolicy('persona_creation_rate_limit', { count: 1000, windowDays: 7 });
    const { visitor, initial } = await started();
    const responses = await Promise.all(Array.from({ length: 20 }, () => visitor.request('POST', '/personas', { displayName: uniqueName() })));
    expect(statuses(responses)).toEqual({ 201: 2, 409: 18 });
    for (const response of responses.filter((r) => r.statusCode === 409)) expect(response.json().code).toBe('PERSONA_LIMIT_REACHED');
    expect(await livePersonasOf(initial.id)).toBe(3);
    const created = await db().selectFrom('outbox').select('payload').where('type', '=', 'PersonaCreated').execute();
    expect(created).toHaveLength(2);
  });

  it('10 parallel creations under the default rate (1 per 7 days) create exactly one', async () => {
    const { visitor, initial } = await started();
    const responses = await Promise.all(Array.from({ length: 10 }, () => visitor.request('POST', '/personas', { displayName: uniqueName() })));
    expect(statuses(responses)).toEqual({ 201: 1, 429: 9 });
    expect(await livePersonasOf(initial.id)).toBe(2);
  });

  it('one display name claimed by 10 people at once goes to exactly one', async () => {
    const name = uniqueName('Contested');
    const visitors = await Promise.all(Array.from({ length: 10 }, async () => (await started()).visitor));
    const responses = await Promise.all(visitors.map((visitor) => visitor.request('POST', '/personas', { displayName: name })));
    expect(statuses(responses)).toEqual({ 201: 1, 409: 9 });
    for (const response of responses.filter((r) => r.statusCode === 409)) expect(response.json().code).toBe('DISPLAY_NAME_TAKEN');
  });

  it('a released name claimed by another person while its holder releases it stays with the holder', async () => {
    await setPolicy('persona_creation_rate_limit', { count: 1000, windowDays: 7 });
    for (let round = 0; round < 3; round++) {
      const holder = await started();
      const [, ...claims] = await Promise.all([
        holder.visitor.request('POST', `/personas/${holder.initial.id}/deactivate`),
        ...Array.from({ length: 4 }, () => new Visitor(test.app).request('POST', '/personas', { displayName: holder.initial.displayName })),
      ]);
      // Before the release the name is live; after it, it is held: no stranger ever gets it.
      for (const claim of claims) expect(claim.json().code).toBe('DISPLAY_NAME_TAKEN');
    }
  });

  it('10 parallel rotations of one persona rotate it once', async () => {
    await setPolicy('persona_rotation_cooldown', { hours: 0 });
    const { visitor, initial } = await started();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => visitor.request('POST', `/personas/${initial.id}/rotate`, { newDisplayName: uniqueName() })),
    );
    expect(statuses(responses)[200]).toBe(1);
    for (const response of responses.filter((r) => r.statusCode !== 200)) expect(response.json().code).toBe('PERSONA_NOT_FOUND');
    const successors = await db().selectFrom('personas').select('id').where('rotated_from', '=', initial.id).execute();
    expect(successors).toHaveLength(1);
    expect(await livePersonasOf(initial.id)).toBe(1);
  });
});

describe(`a rotation cut off midway leaves nothing behind (${databaseKind})`, () => {
  afterEach(async () => {
    await sql`drop trigger if exists cut_rotation on outbox`.execute(db());
    await sql`drop function if exists cut_rotation()`.execute(db());
  });

  it('keeps the old persona active, creates no successor and no event, and the service carries on', async () => {
    const { visitor, initial } = await started();
    // The last write of a rotation is its events. On PostgreSQL the connection itself is killed right
    // there (the server ends the backend mid-transaction); PGlite has one in-process connection, so
    // there the statement fails instead.
    const cut =
      databaseKind === 'postgres'
        ? sql.raw('perform pg_terminate_backend(pg_backend_pid()); perform pg_sleep(5);')
        : sql.raw(`raise exception 'connection lost';`);
    await sql`
      create function cut_rotation() returns trigger language plpgsql as $$
      begin ${cut} return new; end;
      $$`.execute(db());
    await sql`
      create trigger cut_rotation after insert on outbox
      for each row when (new.type = 'PersonaRotated') execute function cut_rotation()`.execute(db());
    const outboxBefore = (await db().selectFrom('outbox').select('id').execute()).length;

    const response = await visitor.request('POST', `/personas/${initial.id}/rotate`, { newDisplayName: uniqueName('Never') });
    // A terminated connection answers 503 (try again); the embedded stand-in raises a plain error (500).
    const expected = databaseKind === 'postgres' ? [503, 'SERVICE_UNAVAILABLE'] : [500, 'INTERNAL_ERROR'];
    expect([response.statusCode, response.json().code]).toEqual(expected);

    const old = await db().selectFrom('personas').selectAll().where('id', '=', initial.id).executeTakeFirstOrThrow();
    expect(old).toMatchObject({ is_active: true, deleted_at: null, purge_after: null });
    expect(await db().selectFrom('personas').select('id').where('rotated_from', '=', initial.id).execute()).toEqual([]);
    expect(await livePersonasOf(initial.id)).toBe(1);
    expect((await db().selectFrom('outbox').select('id').execute()).length).toBe(outboxBefore);
    const oldKey = initial.displayName.toLowerCase();
    expect(await db().selectFrom('display_name_holds').select('display_name_key').where('display_name_key', '=', oldKey).execute()).toEqual([]);
    expect((await visitor.request('GET', '/session')).json().persona.id).toBe(initial.id);

    await sql`drop trigger cut_rotation on outbox`.execute(db());
    const retried = await visitor.request('POST', `/personas/${initial.id}/rotate`, { newDisplayName: uniqueName('After') });
    expect(retried.statusCode, retried.body).toBe(200);
  });
});

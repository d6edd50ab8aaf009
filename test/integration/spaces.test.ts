import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pseudonyms } from '../../src/crypto/pseudonyms.js';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

const db = () => test.database.db;
type Response = Awaited<ReturnType<Visitor['request']>>;

interface Person {
  readonly visitor: Visitor;
  readonly personaId: string;
  readonly displayName: string;
  readonly profileId: string;
  readonly accountId: string;
}

async function person(): Promise<Person> {
  const visitor = new Visitor(test.app);
  const { persona } = await visitor.start();
  const row = await db()
    .selectFrom('personas as p')
    .innerJoin('persona_access as pa', 'pa.persona_id', 'p.id')
    .select(['p.accountability_profile_id as profileId', 'pa.account_id as accountId'])
    .where('p.id', '=', persona.id)
    .executeTakeFirstOrThrow();
  return { visitor, personaId: persona.id, displayName: persona.displayName, ...row };
}

/** Another persona of the same person on the same account (the personas API's job, done in the database). */
async function anotherPersona(owner: Person): Promise<{ id: string; displayName: string }> {
  const id = randomUUID();
  const displayName = `Second ${id.slice(0, 8)}`;
  await db()
    .insertInto('personas')
    .values({
      id,
      accountability_profile_id: owner.profileId,
      display_name: displayName,
      display_name_key: `second ${id}`,
      author_id: new Pseudonyms(test.config.secrets.pseudonymKeys).authorId(id),
    })
    .execute();
  await db().insertInto('persona_access').values({ account_id: owner.accountId, persona_id: id }).execute();
  return { id, displayName };
}

const actAs = (owner: Person, personaId: string) =>
  db().updateTable('sessions').set({ active_persona_id: personaId }).where('account_id', '=', owner.accountId).execute();

/** Another sign-in of the same person: a second browser whose account and persona now belong to `owner`. */
async function otherAccountOf(owner: Person): Promise<Person> {
  const other = await person();
  await db().updateTable('accounts').set({ accountability_profile_id: owner.profileId }).where('id', '=', other.accountId).execute();
  await db().updateTable('personas').set({ accountability_profile_id: owner.profileId }).where('id', '=', other.personaId).execute();
  return { ...other, profileId: owner.profileId };
}

const join = (visitor: Visitor, space: string) => visitor.request('POST', `/spaces/${space}/join`);
const leave = (visitor: Visitor, space: string) => visitor.request('POST', `/spaces/${space}/leave`);
const membership = async (visitor: Visitor, space: string) => (await visitor.request('GET', `/spaces/${space}/membership`)).json();
const memberships = (space: string) => db().selectFrom('space_memberships').selectAll().where('space_id', '=', space).execute();
const spaceEvents = async (type: string, space: string) =>
  (await db().selectFrom('outbox').select('payload').where('type', '=', type).execute()).filter((row) => row.payload.spaceId === space);
const newSpace = () => `board:${randomUUID().slice(0, 8)}`;

function expectError(response: Response, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: response.headers['x-correlation-id'] });
}

describe('joining a space', () => {
  it('joins with the active persona, showing only its public id and name, with a SpaceJoined event', async () => {
    const owner = await person();
    const space = newSpace();
    const response = await join(owner.visitor, space);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({
      spaceId: space,
      member: true,
      persona: { id: owner.personaId, displayName: owner.displayName },
      joinedAt: expect.any(String),
      correlationId: response.headers['x-correlation-id'],
    });
    expect(response.body).not.toContain(owner.profileId);
    expect(response.body).not.toContain(owner.accountId);
    expect(await memberships(space)).toEqual([
      expect.objectContaining({ space_id: space, accountability_profile_id: owner.profileId, persona_id: owner.personaId }),
    ]);
    expect(await spaceEvents('SpaceJoined', space)).toEqual([{ payload: { spaceId: space, personaId: owner.personaId } }]);
    expect(await membership(owner.visitor, space)).toMatchObject({ member: true, persona: { id: owner.personaId } });
  });

  it('answers 409 ALREADY_MEMBER to a second join, by the same or another persona of the person', async () => {
    const owner = await person();
    const space = newSpace();
    expect((await join(owner.visitor, space)).statusCode).toBe(201);
    expectError(await join(owner.visitor, space), 409, 'ALREADY_MEMBER');

    const second = await anotherPersona(owner);
    await actAs(owner, second.id);
    expectError(await join(owner.visitor, space), 409, 'ALREADY_MEMBER');
    // The membership shows the persona that holds it, which this sign-in may act as.
    expect(await membership(owner.visitor, space)).toMatchObject({ member: true, persona: { id: owner.personaId } });
    expect(await memberships(space)).toHaveLength(1);
    expect(await spaceEvents('SpaceJoined', space)).toHaveLength(1);
  });

  it('lets other people join the same space', async () => {
    const space = newSpace();
    for (let i = 0; i < 3; i++) expect((await join((await person()).visitor, space)).statusCode).toBe(201);
    expect(await memberships(space)).toHaveLength(3);
  });

  it('gives a visitor with no identity yet a guest identity, then joins', async () => {
    const fresh = new Visitor(test.app);
    const space = newSpace();
    const response = await join(fresh, space);
    expect(response.statusCode).toBe(201);
    expect((await fresh.request('GET', '/session')).json()).toMatchObject({ started: true, persona: { id: response.json().persona.id } });
  });

  it('refuses a deactivated active persona with 409 PERSONA_INACTIVE', async () => {
    const owner = await person();
    await db().updateTable('personas').set({ is_active: false, deactivated_at: new Date() }).where('id', '=', owner.personaId).execute();
    const space = newSpace();
    expectError(await join(owner.visitor, space), 409, 'PERSONA_INACTIVE');
    expect(await memberships(space)).toEqual([]);
  });

  it('refuses a banned person with 403 BANNED', async () => {
    const owner = await person();
    await test.app.inject({ method: 'POST', url: '/admin/bans', headers: test.adminHeaders, payload: { subject: { personaId: owner.personaId }, reason: 'r' } });
    const space = newSpace();
    expectError(await join(owner.visitor, space), 403, 'BANNED');
    expect(await memberships(space)).toEqual([]);
  });

  // As sent in the URL: a space, 101 characters, a non-ASCII letter, a slash, an SQL fragment.
  it.each(['a%20b', 'x'.repeat(101), 'sp%C3%A4ce', 'a%2Fb', '%27%3B%20drop%20table%20space_memberships%3B%20--'])(
    'refuses the space id %j with 400 VALIDATION_FAILED',
    async (space) => {
      const owner = await person();
      expectError(await owner.visitor.request('POST', `/spaces/${space}/join`), 400, 'VALIDATION_FAILED');
      expectError(await owner.visitor.request('GET', `/spaces/${space}/membership`), 400, 'VALIDATION_FAILED');
    },
  );

  it.each(['a', 'board:42', 'dao.main-1_x', 'x'.repeat(100)])('accepts the space id %j', async (space) => {
    const owner = await person();
    expect((await join(owner.visitor, space)).statusCode).toBe(201);
  });
});

describe('one membership per person, under concurrency', () => {
  it('20 parallel joins of one space by two personas of one person make exactly one membership', async () => {
    const owner = await person();
    const twin = await otherAccountOf(owner);
    const space = newSpace();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => join(i % 2 ? owner.visitor : twin.visitor, space)),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(409)]);
    expect(responses.filter((r) => r.statusCode === 409).every((r) => r.json().code === 'ALREADY_MEMBER')).toBe(true);
    const rows = await memberships(space);
    expect(rows).toHaveLength(1);
    expect([owner.personaId, twin.personaId]).toContain(rows[0]!.persona_id);
    expect(await spaceEvents('SpaceJoined', space)).toHaveLength(1);
  });
});

describe('another sign-in of the same person', () => {
  it('is refused a second membership, and is not shown the persona that holds it', async () => {
    const owner = await person();
    const twin = await otherAccountOf(owner);
    const space = newSpace();
    expect((await join(owner.visitor, space)).statusCode).toBe(201);
    const refused = await join(twin.visitor, space);
    expectError(refused, 409, 'ALREADY_MEMBER');
    expect(refused.body).not.toContain(owner.personaId);
    // Member, yes; but through a persona this account may not act as (linked in isolation): not named.
    expect(await membership(twin.visitor, space)).toMatchObject({ member: true, persona: null });
    // Nor may it end a membership held by a persona it cannot act as.
    expectError(await leave(twin.visitor, space), 404, 'NOT_MEMBER');
    expect(await memberships(space)).toHaveLength(1);
  });
});

describe('leaving a space', () => {
  it('ends the membership with a SpaceLeft event, after which the person may join again with another persona', async () => {
    const owner = await person();
    const space = newSpace();
    expect((await join(owner.visitor, space)).statusCode).toBe(201);
    const second = await anotherPersona(owner);
    await actAs(owner, second.id);

    const response = await leave(owner.visitor, space);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ spaceId: space, member: false, persona: null, joinedAt: null, correlationId: response.headers['x-correlation-id'] });
    expect(await memberships(space)).toEqual([]);
    expect(await spaceEvents('SpaceLeft', space)).toEqual([{ payload: { spaceId: space, personaId: owner.personaId } }]);
    expect(await membership(owner.visitor, space)).toMatchObject({ member: false, persona: null, joinedAt: null });

    const rejoined = await join(owner.visitor, space);
    expect(rejoined.statusCode).toBe(201);
    expect(rejoined.json().persona).toEqual(second);
  });

  it('answers 404 NOT_MEMBER when not a member, and 401 without a session', async () => {
    const owner = await person();
    expectError(await leave(owner.visitor, newSpace()), 404, 'NOT_MEMBER');
    expectError(await leave(new Visitor(test.app), newSpace()), 401, 'SESSION_REQUIRED');
  });

  it('is allowed to a banned person', async () => {
    const owner = await person();
    const space = newSpace();
    expect((await join(owner.visitor, space)).statusCode).toBe(201);
    await test.app.inject({ method: 'POST', url: '/admin/bans', headers: test.adminHeaders, payload: { subject: { personaId: owner.personaId }, reason: 'r' } });
    expect((await leave(owner.visitor, space)).statusCode).toBe(200);
  });
});

describe('reading one\'s membership', () => {
  it('answers "not a member" to a visitor with no identity, without starting one', async () => {
    const fresh = new Visitor(test.app);
    const response = await fresh.request('GET', `/spaces/${newSpace()}/membership`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ member: false, persona: null, joinedAt: null });
    expect((await fresh.request('GET', '/session')).json().started).toBe(false);
  });

  it('hides a membership persona that has since been deactivated', async () => {
    const owner = await person();
    const space = newSpace();
    expect((await join(owner.visitor, space)).statusCode).toBe(201);
    const second = await anotherPersona(owner);
    await actAs(owner, second.id);
    await db().updateTable('personas').set({ is_active: false, deactivated_at: new Date() }).where('id', '=', owner.personaId).execute();
    expect(await membership(owner.visitor, space)).toMatchObject({ member: true, persona: null, joinedAt: expect.any(String) });
  });
});

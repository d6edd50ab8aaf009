import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { registerApp, resolveForApp, startTestApp, Visitor, type TestApp } from '../support/app.js';

/** A clock the test moves: grace periods, holds and cooldowns are days long. */
class TestClock implements Clock {
  #at = Date.now();
  now = () => new Date(this.#at);
  advanceDays(days: number): void {
    this.#at += days * 86_400_000;
  }
}

const clock = new TestClock();
let test: TestApp;
beforeAll(async () => {
  // A long cache TTL: anything GET /session shows after a change must come from invalidation.
  test = await startTestApp({ clock, env: { SESSION_CACHE_TTL_SECONDS: '3600' } });
});
afterAll(() => test.close());
// Policies changed by a test return to their defaults after it.
afterEach(async () => {
  await test.database.db.deleteFrom('policies').execute();
});

const db = () => test.database.db;
const uniqueName = (prefix = 'Persona') => `${prefix} ${randomUUID().slice(0, 8)}`;

async function setPolicy(name: string, value: unknown) {
  const response = await test.app.inject({ method: 'PUT', url: `/admin/policies/${name}`, headers: test.adminHeaders, payload: { value } });
  expect(response.statusCode, response.body).toBe(200);
}

async function started(): Promise<{ visitor: Visitor; initial: { id: string; displayName: string } }> {
  const visitor = new Visitor(test.app);
  const { persona } = await visitor.start();
  return { visitor, initial: persona };
}

const create = (visitor: Visitor, displayName: string, avatarUrl?: string) =>
  visitor.request('POST', '/personas', { displayName, ...(avatarUrl ? { avatarUrl } : {}) });
const act = (visitor: Visitor, personaId: string, action: 'rotate' | 'deactivate' | 'reactivate' | 'delete-permanent', payload?: object) =>
  visitor.request('POST', `/personas/${personaId}/${action}`, payload);
const list = async (visitor: Visitor) => (await visitor.request('GET', '/personas')).json().personas as Array<Record<string, unknown>>;
const session = async (visitor: Visitor) => (await visitor.request('GET', '/session')).json();

async function profileOf(personaId: string) {
  return db()
    .selectFrom('personas as p')
    .innerJoin('accountability_profiles as ap', 'ap.id', 'p.accountability_profile_id')
    .select(['ap.id', 'ap.abuse_score', 'ap.risk_level', 'ap.is_verified', 'ap.legal_hold'])
    .where('p.id', '=', personaId)
    .executeTakeFirstOrThrow();
}

async function setPerson(personaId: string, changes: { risk_level?: 'LOW' | 'MEDIUM' | 'HIGH'; abuse_score?: number; is_verified?: boolean; legal_hold?: boolean }) {
  const { id } = await profileOf(personaId);
  await db().updateTable('accountability_profiles').set(changes).where('id', '=', id).execute();
}

const personaRow = (id: string) => db().selectFrom('personas').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const eventsOf = async (type: string) =>
  (await db().selectFrom('outbox').select(['type', 'payload']).where('type', '=', type).execute()).map((row) => row.payload);

function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: response.headers['x-correlation-id'] });
}

describe('GET /personas and POST /personas', () => {
  it('lists nothing for a visitor who has not started, without starting them', async () => {
    const visitor = new Visitor(test.app);
    const response = await visitor.request('GET', '/personas');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ personas: [], correlationId: response.headers['x-correlation-id'] });
    expect((await session(visitor)).started).toBe(false);
  });

  it('creates a persona for a fresh visitor (starting a guest first) and answers only public fields', async () => {
    const visitor = new Visitor(test.app);
    const displayName = uniqueName('Night Owl');
    const response = await create(visitor, displayName, 'https://cdn.example.org/owl.png');
    expect(response.statusCode, response.body).toBe(201);
    const { persona } = response.json();
    expect(persona).toEqual({
      id: expect.any(String),
      displayName,
      avatarUrl: 'https://cdn.example.org/owl.png',
      trustLevel: 'NEW',
      createdAt: clock.now().toISOString(),
      verified: false,
      active: true,
      authorId: expect.stringMatching(/^k1\./),
      restorableUntil: null,
    });
    const profile = await profileOf(persona.id);
    expect(response.body).not.toContain(profile.id);

    // The guest's default persona and the new one; the session still acts as the default.
    const personas = await list(visitor);
    expect(personas.map((p) => p.id).sort()).toEqual([(await session(visitor)).persona.id, persona.id].sort());
    expect(await eventsOf('PersonaCreated')).toContainEqual({ personaId: persona.id, accountabilityProfileId: profile.id, trustLevel: 'NEW' });
    const row = await personaRow(persona.id);
    expect(row).toMatchObject({ origin: 'created', is_active: true, deleted_at: null, purge_after: null });
  });

  it('lets one person hold up to 3 live personas (integration test 4)', async () => {
    await setPolicy('persona_creation_rate_limit', { count: 10, windowDays: 7 });
    const { visitor } = await started();
    expect((await create(visitor, uniqueName())).statusCode).toBe(201);
    expect((await create(visitor, uniqueName())).statusCode).toBe(201);
    expectError(await create(visitor, uniqueName()), 409, 'PERSONA_LIMIT_REACHED');
    expect((await list(visitor)).filter((p) => p.active)).toHaveLength(3);
  });

  it('allows one creation per 7 days, then another once the window has passed', async () => {
    const { visitor } = await started();
    expect((await create(visitor, uniqueName())).statusCode).toBe(201);
    const refused = await create(visitor, uniqueName());
    expectError(refused, 429, 'PERSONA_RATE_LIMITED');
    clock.advanceDays(7.01);
    expect((await create(visitor, uniqueName())).statusCode).toBe(201);
  });

  it('refuses a display name another live persona has, in any case or look-alike form', async () => {
    const owner = new Visitor(test.app);
    const name = uniqueName('Alice');
    expect((await create(owner, name)).statusCode).toBe(201);
    for (const variant of [name, name.toUpperCase(), `  ${name.toLowerCase()} `, name.replace('A', '\u0410')]) {
      expectError(await create(new Visitor(test.app), variant), 409, 'DISPLAY_NAME_TAKEN');
    }
  });

  it.each([
    ['an http avatar', { displayName: 'Valid Name', avatarUrl: 'http://cdn.example.org/a.png' }],
    ['an avatar with a password', { displayName: 'Valid Name', avatarUrl: 'https://u:p@cdn.example.org/a.png' }],
    ['an overlong avatar', { displayName: 'Valid Name', avatarUrl: `https://cdn.example.org/${'a'.repeat(500)}` }],
    ['a blank name', { displayName: '   ' }],
    ['a bidi override in the name', { displayName: 'abc\u202edef' }],
    ['a name over 64 characters', { displayName: 'x'.repeat(65) }],
    ['an unknown property', { displayName: 'Valid Name', bio: 'hi' }],
    ['a number for a name', { displayName: 42 }],
  ])('refuses %s with 400 VALIDATION_FAILED and creates nothing', async (_case, payload) => {
    const { visitor } = await started();
    expectError(await visitor.request('POST', '/personas', payload), 400, 'VALIDATION_FAILED');
    expect(await list(visitor)).toHaveLength(1);
  });
});

describe('rotation', () => {
  it('retires the old persona, creates a NEW one and leaves accountability unchanged (integration test 3)', async () => {
    const { visitor, initial } = await started();
    await setPerson(initial.id, { abuse_score: 0.4, risk_level: 'MEDIUM' });
    const promoted = await test.app.inject({
      method: 'POST', url: `/admin/personas/${initial.id}/trust-level`, headers: test.adminHeaders, payload: { trustLevel: 'TRUSTED' },
    });
    expect(promoted.statusCode, promoted.body).toBe(200);
    await db().insertInto('persona_flags').values({ persona_id: initial.id, reason: 'strike', actor: 'admin' }).execute();
    const before = await profileOf(initial.id);
    expect((await session(visitor)).persona.trustLevel).toBe('TRUSTED'); // cached now

    const newDisplayName = uniqueName('Fresh Start');
    const response = await act(visitor, initial.id, 'rotate', { newDisplayName });
    expect(response.statusCode, response.body).toBe(200);
    const successor = response.json().persona;
    expect(successor).toMatchObject({ displayName: newDisplayName, trustLevel: 'NEW', active: true, avatarUrl: null });
    expect(response.body).not.toContain(before.id);

    // Same person, same score, risk and verification (edge case 2: risk is inherited, flags stay put).
    expect(await profileOf(successor.id)).toEqual(before);
    const old = await personaRow(initial.id);
    expect(old).toMatchObject({ is_active: false, deleted_at: clock.now(), trust_level: 'TRUSTED' });
    expect(old.purge_after).toEqual(new Date(clock.now().getTime() + 90 * 86_400_000));
    expect(await personaRow(successor.id)).toMatchObject({ origin: 'rotated', rotated_from: initial.id, trust_granted_at: clock.now() });
    expect(await db().selectFrom('persona_flags').select('persona_id').where('persona_id', '=', initial.id).execute()).toHaveLength(1);

    // The session acts as the successor at once; the old persona is gone from every list.
    expect((await session(visitor)).persona).toMatchObject({ id: successor.id, trustLevel: 'NEW' });
    expect((await list(visitor)).map((p) => p.id)).toEqual([successor.id]);
    expect(await eventsOf('PersonaRotated')).toContainEqual({ oldPersonaId: initial.id, newPersonaId: successor.id, accountabilityProfileId: before.id });
    expect(await eventsOf('PersonaDeactivated')).toContainEqual({ personaId: initial.id, reason: 'rotation' });
    expectError(await act(visitor, initial.id, 'rotate', { newDisplayName: uniqueName() }), 404, 'PERSONA_NOT_FOUND');
  });

  it('holds the rotation cooldown, then allows the next rotation', async () => {
    const { visitor, initial } = await started();
    const first = (await act(visitor, initial.id, 'rotate', { newDisplayName: uniqueName() })).json().persona;
    expectError(await act(visitor, first.id, 'rotate', { newDisplayName: uniqueName() }), 429, 'ROTATION_COOLDOWN');
    clock.advanceDays(1.01);
    expect((await act(visitor, first.id, 'rotate', { newDisplayName: uniqueName() })).statusCode).toBe(200);
  });

  it('lets a person rotate back to their own just-released name, but never to another\'s', async () => {
    const { visitor, initial } = await started();
    expect((await act(visitor, initial.id, 'rotate', { newDisplayName: initial.displayName })).statusCode).toBe(200);
    const other = await started();
    expectError(await act(other.visitor, other.initial.id, 'rotate', { newDisplayName: initial.displayName }), 409, 'DISPLAY_NAME_TAKEN');
  });

  it('keeps an open appeal on the old persona (edge case 4)', async () => {
    const { visitor, initial } = await started();
    const { id: profileId } = await profileOf(initial.id);
    const appeal = await db()
      .insertInto('appeals')
      .values({ persona_id: initial.id, accountability_profile_id: profileId })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect((await act(visitor, initial.id, 'rotate', { newDisplayName: uniqueName() })).statusCode).toBe(200);
    expect(await db().selectFrom('appeals').select(['persona_id', 'status']).where('id', '=', appeal.id).executeTakeFirst()).toEqual({
      persona_id: initial.id,
      status: 'open',
    });
  });

  it('keeps the verified badge through rotation (edge case 5)', async () => {
    const { visitor, initial } = await started();
    await setPerson(initial.id, { is_verified: true });
    expect((await list(visitor))[0]).toMatchObject({ id: initial.id, verified: true });
    const successor = (await act(visitor, initial.id, 'rotate', { newDisplayName: uniqueName() })).json().persona;
    expect(successor.verified).toBe(true);
    expect((await list(visitor))[0]).toMatchObject({ id: successor.id, verified: true });
  });
});

describe('HIGH risk (edge cases 1 and 2)', () => {
  it('refuses creation, rotation and reactivation with ACCOUNT_SUSPENDED and changes nothing', async () => {
    await setPolicy('persona_creation_rate_limit', { count: 10, windowDays: 7 });
    const { visitor, initial } = await started();
    const spare = (await create(visitor, uniqueName())).json().persona;
    expect((await act(visitor, spare.id, 'deactivate')).statusCode).toBe(200);
    await setPerson(initial.id, { risk_level: 'HIGH', abuse_score: 0.9 });
    const outboxBefore = (await db().selectFrom('outbox').select('id').execute()).length;

    for (const response of [
      await create(visitor, uniqueName()),
      await act(visitor, initial.id, 'rotate', { newDisplayName: uniqueName() }),
      await act(visitor, spare.id, 'reactivate'),
    ]) {
      expectError(response, 403, 'ACCOUNT_SUSPENDED');
      expect(response.body).not.toMatch(/HIGH|risk|score|0\.9/i);
    }
    expect(await list(visitor)).toMatchObject([{ id: initial.id, active: true }, { id: spare.id, active: false }]);
    expect((await db().selectFrom('outbox').select('id').execute()).length).toBe(outboxBefore);
  });
});

describe('deactivation and reactivation', () => {
  it('hides a deactivated persona from everyone but its owner at once, and restores it within the grace period', async () => {
    const { visitor, initial } = await started();
    expect((await session(visitor)).persona.id).toBe(initial.id); // cached
    const response = await act(visitor, initial.id, 'deactivate');
    expect(response.statusCode, response.body).toBe(200);
    const restorableUntil = new Date(clock.now().getTime() + 90 * 86_400_000).toISOString();
    expect(response.json().persona).toMatchObject({ id: initial.id, active: false, restorableUntil });
    expect(await personaRow(initial.id)).toMatchObject({ is_active: false, deleted_at: null, deactivated_at: clock.now() });
    expect(await eventsOf('PersonaDeactivated')).toContainEqual({ personaId: initial.id, reason: 'user' });

    // Hidden from public queries (the session, and so apps and others), listed to its owner to restore.
    expect((await session(visitor)).persona).toBeNull();
    expect(await list(visitor)).toMatchObject([{ id: initial.id, active: false, restorableUntil }]);
    expectError(await visitor.request('PUT', '/session/active-persona', { personaId: initial.id }), 409, 'PERSONA_INACTIVE');
    expectError(await act(visitor, initial.id, 'deactivate'), 409, 'PERSONA_INACTIVE');

    clock.advanceDays(89);
    const restored = await act(visitor, initial.id, 'reactivate');
    expect(restored.statusCode, restored.body).toBe(200);
    expect(restored.json().persona).toMatchObject({ active: true, restorableUntil: null });
    expect(await personaRow(initial.id)).toMatchObject({ is_active: true, deactivated_at: null, purge_after: null });
    expect((await session(visitor)).persona.id).toBe(initial.id);
    expect(await eventsOf('PersonaReactivated')).toContainEqual({ personaId: initial.id });
  });

  it('refuses reactivation after the grace period with GRACE_PERIOD_OVER', async () => {
    const { visitor, initial } = await started();
    expect((await act(visitor, initial.id, 'deactivate')).statusCode).toBe(200);
    clock.advanceDays(90.01);
    expectError(await act(visitor, initial.id, 'reactivate'), 409, 'GRACE_PERIOD_OVER');
  });
});

describe('display-name holds', () => {
  it('reserves a released name for its holder for 30 days, then frees it for anyone', async () => {
    await setPolicy('persona_creation_rate_limit', { count: 10, windowDays: 7 });
    const owner = await started();
    const name = uniqueName('Held');
    const persona = (await create(owner.visitor, name)).json().persona;
    expect((await act(owner.visitor, persona.id, 'deactivate')).statusCode).toBe(200);

    const stranger = new Visitor(test.app);
    clock.advanceDays(29);
    expectError(await create(stranger, name.toLowerCase()), 409, 'DISPLAY_NAME_TAKEN');
    // The holder may take it back: by reactivation here (or a new persona, or a rotation).
    expect((await act(owner.visitor, persona.id, 'reactivate')).statusCode).toBe(200);
    expect((await act(owner.visitor, persona.id, 'deactivate')).statusCode).toBe(200);

    clock.advanceDays(30.01);
    expect((await create(stranger, name)).statusCode).toBe(201);
    // Still within its grace period, the persona cannot come back under a name someone now uses.
    expectError(await act(owner.visitor, persona.id, 'reactivate'), 409, 'DISPLAY_NAME_TAKEN');
  });

  it('lets the holder reclaim a held name with a new persona', async () => {
    await setPolicy('persona_creation_rate_limit', { count: 10, windowDays: 7 });
    const owner = await started();
    expect((await act(owner.visitor, owner.initial.id, 'deactivate')).statusCode).toBe(200);
    const reclaimed = await create(owner.visitor, owner.initial.displayName);
    expect(reclaimed.statusCode).toBe(201);
    // The session had no live persona left, so the new one became its active persona.
    expect((await session(owner.visitor)).persona.id).toBe(reclaimed.json().persona.id);
    expect(await db().selectFrom('display_name_holds').select('display_name_key').where('display_name_key', '=', owner.initial.displayName.toLowerCase()).execute()).toEqual([]);
  });
});

describe('permanent deletion', () => {
  it('anonymizes at once, hides the persona from its owner too, and schedules the purge', async () => {
    const visitor = new Visitor(test.app);
    const persona = (await create(visitor, uniqueName('Doomed'), 'https://cdn.example.org/d.png')).json().persona;
    const response = await act(visitor, persona.id, 'delete-permanent');
    expect(response.statusCode, response.body).toBe(200);
    const purgeAfter = new Date(clock.now().getTime() + 90 * 86_400_000).toISOString();
    expect(response.json()).toEqual({ deleted: true, purgeAfter, correlationId: response.headers['x-correlation-id'] });
    const row = await personaRow(persona.id);
    expect(row).toMatchObject({ avatar_url: null, is_active: false, deleted_at: clock.now(), purge_after: new Date(purgeAfter) });
    expect(row.display_name).toMatch(/^deleted-[0-9a-f]{12}$/);
    expect(row.display_name_key).toBe(row.display_name);
    expect((await list(visitor)).map((p) => p.id)).not.toContain(persona.id);
    expect(await eventsOf('PersonaDeleted')).toContainEqual({ personaId: persona.id, purgeAfter });
    expectError(await act(visitor, persona.id, 'reactivate'), 404, 'PERSONA_NOT_FOUND');
  });

  it('is refused with 409 LEGAL_HOLD under a legal hold, and changes nothing', async () => {
    const { visitor, initial } = await started();
    await setPerson(initial.id, { legal_hold: true });
    expectError(await act(visitor, initial.id, 'delete-permanent'), 409, 'LEGAL_HOLD');
    expect(await personaRow(initial.id)).toMatchObject({ display_name: initial.displayName, is_active: true, deleted_at: null });
  });
});

describe('ownership and the active persona', () => {
  it('answers 404 PERSONA_NOT_FOUND for another person\'s persona, or one that does not exist', async () => {
    const owner = await started();
    const intruder = await started();
    for (const id of [owner.initial.id, randomUUID()]) {
      for (const response of [
        await act(intruder.visitor, id, 'rotate', { newDisplayName: uniqueName() }),
        await act(intruder.visitor, id, 'deactivate'),
        await act(intruder.visitor, id, 'reactivate'),
        await act(intruder.visitor, id, 'delete-permanent'),
        await intruder.visitor.request('PUT', '/session/active-persona', { personaId: id }),
      ]) {
        expectError(response, 404, 'PERSONA_NOT_FOUND');
      }
    }
    expect(await personaRow(owner.initial.id)).toMatchObject({ is_active: true, deleted_at: null });
  });

  it('switches the session\'s active persona, shown by GET /session at once', async () => {
    await setPolicy('persona_creation_rate_limit', { count: 10, windowDays: 7 });
    const { visitor, initial } = await started();
    const other = (await create(visitor, uniqueName())).json().persona;
    expect((await session(visitor)).persona.id).toBe(initial.id); // cached
    const response = await visitor.request('PUT', '/session/active-persona', { personaId: other.id });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().persona.id).toBe(other.id);
    expect((await session(visitor)).persona).toMatchObject({ id: other.id, displayName: other.displayName });
  });

  it('requires a session for acting on a persona', async () => {
    expectError(await act(new Visitor(test.app), randomUUID(), 'deactivate'), 401, 'SESSION_REQUIRED');
  });
});

describe('security: what public persona routes reveal', () => {
  it('never returns an accountability id, account id, session id, abuse score or risk level', async () => {
    await setPolicy('persona_creation_rate_limit', { count: 10, windowDays: 7 });
    const { visitor, initial } = await started();
    await setPerson(initial.id, { abuse_score: 0.42, risk_level: 'MEDIUM', is_verified: true });
    const ids = await db()
      .selectFrom('sessions as s')
      .innerJoin('accounts as a', 'a.id', 's.account_id')
      .select(['s.id as sessionId', 'a.id as accountId', 'a.accountability_profile_id as profileId'])
      .where('s.active_persona_id', '=', initial.id)
      .executeTakeFirstOrThrow();

    const second = (await create(visitor, uniqueName())).json().persona;
    const responses = [
      await visitor.request('GET', '/personas'),
      await create(visitor, uniqueName()),
      await act(visitor, initial.id, 'rotate', { newDisplayName: uniqueName() }),
      await act(visitor, second.id, 'deactivate'),
      await act(visitor, second.id, 'reactivate'),
      await visitor.request('PUT', '/session/active-persona', { personaId: second.id }),
      await visitor.request('POST', '/policy/check', { action: 'persona.create' }),
      await act(visitor, second.id, 'delete-permanent'),
      await create(visitor, uniqueName()), // refused: rate or limit
    ];
    for (const response of responses) {
      expect(response.statusCode).toBeLessThan(500);
      for (const secret of [ids.profileId, ids.accountId, ids.sessionId]) expect(response.body).not.toContain(secret);
      expect(response.body).not.toMatch(/accountability|abuse|risk|score|0\.42|MEDIUM/i);
    }
  });

  it('hides deactivated and rotated-away personas from apps at once', async () => {
    const app = await registerApp(test, `board-${randomUUID().slice(0, 6)}`);
    const { visitor, initial } = await started();
    expect((await resolveForApp(test, app, visitor)).json().persona.id).toBe(initial.id);
    const successor = (await act(visitor, initial.id, 'rotate', { newDisplayName: uniqueName() })).json().persona;
    expect((await resolveForApp(test, app, visitor)).json().persona.id).toBe(successor.id);
    expect((await act(visitor, successor.id, 'deactivate')).statusCode).toBe(200);
    expect((await resolveForApp(test, app, visitor)).json().persona).toBeNull();
  });
});

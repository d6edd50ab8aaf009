import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

const admin = (method: 'GET' | 'POST', url: string, payload?: object) =>
  test.app.inject({ method, url, headers: test.adminHeaders, ...(payload ? { payload } : {}) });

const db = () => test.database.db;
const auditRows = (action: string, target: string) =>
  db().selectFrom('audit_log').selectAll().where('action', '=', action).where('target', '=', target).execute();
const eventsAbout = async (type: string, id: string) =>
  (await db().selectFrom('outbox').select(['type', 'payload']).where('type', '=', type).execute()).filter((row) =>
    Object.values(row.payload).includes(id),
  );

async function person(): Promise<{ personaId: string; profileId: string }> {
  const { persona } = await new Visitor(test.app).start();
  const row = await db().selectFrom('personas').select('accountability_profile_id').where('id', '=', persona.id).executeTakeFirstOrThrow();
  return { personaId: persona.id, profileId: row.accountability_profile_id };
}

async function openAppeal(personaId: string, statement = 'I did nothing wrong') {
  const response = await admin('POST', '/admin/appeals', { personaId, statement });
  expect(response.statusCode).toBe(201);
  return response.json().appeal as { id: string; status: string };
}

function expectError(response: Awaited<ReturnType<typeof admin>>, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: response.headers['x-correlation-id'] });
}

describe('opening an appeal', () => {
  it('attaches it, open, to the persona and the person behind it, with event and audit row', async () => {
    const { personaId, profileId } = await person();
    const response = await admin('POST', '/admin/appeals', { personaId, statement: 'The ban was a mistake.' });
    expect(response.statusCode).toBe(201);
    const { appeal, correlationId } = response.json();
    expect(appeal).toEqual({
      id: expect.any(String),
      personaId,
      accountabilityProfileId: profileId,
      status: 'open',
      statement: 'The ban was a mistake.',
      resolution: null,
      openedAt: expect.any(String),
      resolvedAt: null,
    });
    expect(await eventsAbout('AppealOpened', appeal.id)).toEqual([
      { type: 'AppealOpened', payload: { appealId: appeal.id, personaId, accountabilityProfileId: profileId } },
    ]);
    expect(await auditRows('appeal.open', `appeal:${appeal.id}`)).toEqual([
      expect.objectContaining({ actor: 'admin', correlation_id: correlationId, detail: { personaId } }),
    ]);
  });

  it('stays attached to a persona that is rotated away afterwards (spec 002 edge case 4)', async () => {
    const { personaId } = await person();
    const appeal = await openAppeal(personaId);
    await db().updateTable('personas').set({ is_active: false, deactivated_at: new Date() }).where('id', '=', personaId).execute();
    const lookup = (await admin('GET', `/admin/personas/${personaId}`)).json();
    expect(lookup.persona.active).toBe(false);
    expect(lookup.person.openAppeals).toEqual([expect.objectContaining({ id: appeal.id, personaId, status: 'open' })]);
  });

  it('answers 404 PERSONA_NOT_FOUND for an unknown persona and 400 for bad input', async () => {
    expectError(await admin('POST', '/admin/appeals', { personaId: randomUUID(), statement: 'x' }), 404, 'PERSONA_NOT_FOUND');
    const { personaId } = await person();
    for (const payload of [{ personaId }, { personaId, statement: '' }, { personaId: 'x', statement: 'y' }, { personaId, statement: 'y', status: 'open' }]) {
      expectError(await admin('POST', '/admin/appeals', payload), 400, 'VALIDATION_FAILED');
    }
    expect(await db().selectFrom('appeals').select('id').where('persona_id', '=', personaId).execute()).toEqual([]);
  });
});

describe('resolving an appeal', () => {
  it('upholds it once; a second resolution is 409 APPEAL_CLOSED and changes nothing', async () => {
    const { personaId } = await person();
    const appeal = await openAppeal(personaId);
    const response = await admin('POST', `/admin/appeals/${appeal.id}/resolve`, { status: 'upheld', resolution: 'The posts were spam.' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      appeal: expect.objectContaining({ id: appeal.id, status: 'upheld', resolution: 'The posts were spam.', resolvedAt: expect.any(String) }),
      accountability: null,
      correlationId: response.headers['x-correlation-id'],
    });
    expect(await eventsAbout('AppealResolved', appeal.id)).toEqual([{ type: 'AppealResolved', payload: { appealId: appeal.id, status: 'upheld' } }]);
    expect(await auditRows('appeal.resolve', `appeal:${appeal.id}`)).toEqual([
      expect.objectContaining({ actor: 'admin', correlation_id: response.json().correlationId, detail: { status: 'upheld' } }),
    ]);

    expectError(await admin('POST', `/admin/appeals/${appeal.id}/resolve`, { status: 'overturned', resolution: 'changed my mind' }), 409, 'APPEAL_CLOSED');
    const row = await db().selectFrom('appeals').selectAll().where('id', '=', appeal.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'upheld', resolution: 'The posts were spam.' });
    expect(await auditRows('appeal.resolve', `appeal:${appeal.id}`)).toHaveLength(1);
  });

  it('overturns it with a new abuse score in the same transaction; the risk level follows', async () => {
    const { personaId, profileId } = await person();
    await admin('POST', '/admin/bans', { subject: { personaId }, reason: 'spam' });
    const appeal = await openAppeal(personaId);
    const response = await admin('POST', `/admin/appeals/${appeal.id}/resolve`, { status: 'overturned', resolution: 'Not spam.', abuseScore: 0.1 });
    expect(response.statusCode).toBe(200);
    expect(response.json().appeal.status).toBe('overturned');
    expect(response.json().accountability).toMatchObject({ accountabilityProfileId: profileId, abuseScore: 0.1, riskLevel: 'LOW' });
    // Overturning does not lift a ban by itself: that stays a separate, audited decision.
    expect(response.json().accountability.banned).toBe(true);
    const profile = await db().selectFrom('accountability_profiles').selectAll().where('id', '=', profileId).executeTakeFirstOrThrow();
    expect(profile.risk_level).toBe('LOW');
    expect(await eventsAbout('AccountabilityChanged', profileId)).toEqual([
      { type: 'AccountabilityChanged', payload: { accountabilityProfileId: profileId, changes: { abuseScore: 0.1, riskLevel: 'LOW' } } },
    ]);
    expect(await auditRows('appeal.resolve', `appeal:${appeal.id}`)).toEqual([
      expect.objectContaining({ detail: { status: 'overturned', abuseScore: 0.1, riskLevel: 'LOW' } }),
    ]);
  });

  it('answers 404 APPEAL_NOT_FOUND for an unknown appeal and 400 for bad input', async () => {
    expectError(await admin('POST', `/admin/appeals/${randomUUID()}/resolve`, { status: 'upheld', resolution: 'x' }), 404, 'APPEAL_NOT_FOUND');
    const { personaId } = await person();
    const appeal = await openAppeal(personaId);
    for (const payload of [
      { status: 'open', resolution: 'x' },
      { status: 'upheld' },
      { status: 'upheld', resolution: '' },
      { status: 'upheld', resolution: 'x', abuseScore: 2 },
      { status: 'upheld', resolution: 'x', riskLevel: 'LOW' },
    ]) {
      expectError(await admin('POST', `/admin/appeals/${appeal.id}/resolve`, payload), 400, 'VALIDATION_FAILED');
    }
    expect((await db().selectFrom('appeals').select('status').where('id', '=', appeal.id).executeTakeFirstOrThrow()).status).toBe('open');
  });

  it('resolves exactly once when moderators race', async () => {
    const { personaId } = await person();
    const appeal = await openAppeal(personaId);
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        admin('POST', `/admin/appeals/${appeal.id}/resolve`, { status: i % 2 ? 'upheld' : 'overturned', resolution: `moderator ${i}` }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(409)]);
    expect(responses.filter((r) => r.statusCode === 409).every((r) => r.json().code === 'APPEAL_CLOSED')).toBe(true);
    expect(await auditRows('appeal.resolve', `appeal:${appeal.id}`)).toHaveLength(1);
    expect(await eventsAbout('AppealResolved', appeal.id)).toHaveLength(1);
  });
});

describe('listing appeals', () => {
  it('filters by status, oldest first, with a limit', async () => {
    const { personaId } = await person();
    const first = await openAppeal(personaId, 'first');
    const second = await openAppeal(personaId, 'second');
    const closed = await openAppeal(personaId, 'closed');
    await admin('POST', `/admin/appeals/${closed.id}/resolve`, { status: 'upheld', resolution: 'no' });

    const open = (await admin('GET', '/admin/appeals?status=open')).json().appeals as Array<{ id: string; status: string }>;
    expect(open.every((a) => a.status === 'open')).toBe(true);
    const ids = open.map((a) => a.id);
    expect(ids).toEqual(expect.arrayContaining([first.id, second.id]));
    expect(ids.indexOf(first.id)).toBeLessThan(ids.indexOf(second.id));
    expect(ids).not.toContain(closed.id);

    expect((await admin('GET', '/admin/appeals?status=upheld')).json().appeals.map((a: { id: string }) => a.id)).toContain(closed.id);
    expect((await admin('GET', '/admin/appeals')).json().appeals.map((a: { id: string }) => a.id)).toEqual(
      expect.arrayContaining([first.id, second.id, closed.id]),
    );
    expect((await admin('GET', '/admin/appeals?status=open&limit=1')).json().appeals).toHaveLength(1);
  });

  it.each(['status=pending', 'limit=0', 'limit=1000', 'limit=x', 'page=2'])('refuses ?%s with 400', async (query) => {
    expectError(await admin('GET', `/admin/appeals?${query}`), 400, 'VALIDATION_FAILED');
  });
});

import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createMemoryInvalidationBus, type Invalidation, type InvalidationBus } from '../../src/cache/invalidation-bus.js';
import { loadConfig } from '../../src/config.js';
import { Pseudonyms } from '../../src/crypto/pseudonyms.js';
import { createLogger } from '../../src/http/logger.js';
import { testEnvironment, Visitor, type TestApp } from '../support/app.js';
import { openTestDatabase } from '../support/database.js';

/** Every invalidation the app published, in order: each change to a person must publish one. */
const published: Invalidation[] = [];
let test: TestApp;

beforeAll(async () => {
  const config = loadConfig(testEnvironment());
  const database = await openTestDatabase();
  const bus = createMemoryInvalidationBus();
  const recording: InvalidationBus = {
    confirmsAcrossNodes: bus.confirmsAcrossNodes,
    publish: async (message) => {
      published.push(message);
      return bus.publish(message);
    },
    subscribe: (listener) => bus.subscribe(listener),
    isListening: () => bus.isListening(),
    close: () => bus.close(),
  };
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const app = await buildApp({ config, database, logger: createLogger('warn', quiet), invalidation: recording });
  await app.ready();
  test = {
    app,
    invalidation: recording,
    config,
    database,
    logs: [],
    adminHeaders: { authorization: `Bearer ${config.secrets.adminToken}` },
    close: async () => {
      await app.close();
      await database.drop();
    },
  };
});
afterAll(() => test.close());
beforeEach(() => {
  published.length = 0;
});

type Method = 'GET' | 'POST' | 'PUT';
const admin = (method: Method, url: string, payload?: object, headers = test.adminHeaders) =>
  test.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

const db = () => test.database.db;
const auditCount = async () => (await db().selectFrom('audit_log').select('id').execute()).length;
const auditRows = (action: string, target: string) =>
  db().selectFrom('audit_log').selectAll().where('action', '=', action).where('target', '=', target).execute();
/** Outbox events of a type whose payload names this id (a profile or persona id). */
const eventsAbout = async (type: string, id: string) =>
  (await db().selectFrom('outbox').select(['type', 'payload']).where('type', '=', type).execute()).filter((row) =>
    Object.values(row.payload).includes(id),
  );
const profileRow = (profileId: string) => db().selectFrom('accountability_profiles').selectAll().where('id', '=', profileId).executeTakeFirstOrThrow();

/** A started guest: its visitor, default persona and (internal) profile id. */
async function person(): Promise<{ visitor: Visitor; personaId: string; profileId: string }> {
  const visitor = new Visitor(test.app);
  const { persona } = await visitor.start();
  const row = await db().selectFrom('personas').select('accountability_profile_id').where('id', '=', persona.id).executeTakeFirstOrThrow();
  return { visitor, personaId: persona.id, profileId: row.accountability_profile_id };
}

/** Gives a person another persona, straight in the database, in the given state. */
async function addPersona(profileId: string, state: 'active' | 'deactivated' | 'deleted'): Promise<string> {
  const id = randomUUID();
  const now = new Date();
  await db()
    .insertInto('personas')
    .values({
      id,
      accountability_profile_id: profileId,
      display_name: `Face ${id.slice(0, 8)}`,
      display_name_key: `face ${id}`,
      author_id: new Pseudonyms(test.config.secrets.pseudonymKeys).authorId(id),
      is_active: state === 'active',
      deactivated_at: state === 'deactivated' ? now : null,
      deleted_at: state === 'deleted' ? now : null,
    })
    .execute();
  return id;
}

function expectError(response: Awaited<ReturnType<typeof admin>>, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: response.headers['x-correlation-id'] });
}

describe('looking up the person behind a persona', () => {
  it('answers any persona with both ids, every persona, flags and open appeals, and audits the look-up', async () => {
    const { personaId, profileId } = await person();
    const deactivated = await addPersona(profileId, 'deactivated');
    const deleted = await addPersona(profileId, 'deleted');
    expect((await admin('POST', `/admin/personas/${deactivated}/flags`, { reason: 'harassment' })).statusCode).toBe(201);
    const open = (await admin('POST', '/admin/appeals', { personaId: deleted, statement: 'it was not me' })).json().appeal;
    const closed = (await admin('POST', '/admin/appeals', { personaId, statement: 'again' })).json().appeal;
    expect((await admin('POST', `/admin/appeals/${closed.id}/resolve`, { status: 'upheld', resolution: 'no' })).statusCode).toBe(200);

    const response = await admin('GET', `/admin/personas/${deleted}`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['correlationId', 'person', 'persona']);
    expect(body.persona).toMatchObject({ id: deleted, accountabilityProfileId: profileId, active: false, deletedAt: expect.any(String) });
    expect(body.person.accountability).toEqual({
      accountabilityProfileId: profileId,
      abuseScore: 0,
      riskLevel: 'LOW',
      verified: false,
      legalHold: false,
      banned: false,
      bannedAt: null,
      banReason: null,
      createdAt: expect.any(String),
    });
    const personas = body.person.personas as Array<{ id: string; active: boolean; deactivatedAt: string | null }>;
    expect(personas.map((p) => p.id).sort()).toEqual([personaId, deactivated, deleted].sort());
    expect(personas.find((p) => p.id === personaId)).toMatchObject({ active: true, deactivatedAt: null });
    expect(personas.find((p) => p.id === deactivated)).toMatchObject({ active: false, deactivatedAt: expect.any(String) });
    expect(body.person.flags).toEqual([
      { id: expect.any(String), personaId: deactivated, reason: 'harassment', actor: 'admin', createdAt: expect.any(String) },
    ]);
    expect(body.person.openAppeals).toEqual([expect.objectContaining({ id: open.id, personaId: deleted, status: 'open' })]);

    expect(await auditRows('person.lookup', `persona:${deleted}`)).toEqual([
      expect.objectContaining({ actor: 'admin', correlation_id: body.correlationId }),
    ]);
  });

  it('answers the same person by profile id', async () => {
    const { personaId, profileId } = await person();
    const response = await admin('GET', `/admin/people/${profileId}`);
    expect(response.statusCode).toBe(200);
    expect(response.json().person.accountability.accountabilityProfileId).toBe(profileId);
    expect(response.json().person.personas.map((p: { id: string }) => p.id)).toEqual([personaId]);
    expect(await auditRows('person.lookup', `person:${profileId}`)).toHaveLength(1);
  });

  it('answers 404 for an unknown id and 400 for a malformed one, auditing nothing', async () => {
    const before = await auditCount();
    expectError(await admin('GET', `/admin/personas/${randomUUID()}`), 404, 'PERSONA_NOT_FOUND');
    expectError(await admin('GET', `/admin/people/${randomUUID()}`), 404, 'PERSON_NOT_FOUND');
    expectError(await admin('GET', '/admin/personas/nope'), 400, 'VALIDATION_FAILED');
    expect(await auditCount()).toBe(before);
  });
});

describe('flagging a persona', () => {
  it('records the flag with its actor, event and audit row, even on a deactivated persona', async () => {
    const { profileId } = await person();
    const personaId = await addPersona(profileId, 'deactivated');
    const response = await admin('POST', `/admin/personas/${personaId}/flags`, { reason: 'spam links' });
    expect(response.statusCode).toBe(201);
    const { flag, correlationId } = response.json();
    expect(flag).toEqual({ id: expect.any(String), personaId, reason: 'spam links', actor: 'admin', createdAt: expect.any(String) });
    expect(await eventsAbout('PersonaFlagged', personaId)).toEqual([
      { type: 'PersonaFlagged', payload: { personaId, accountabilityProfileId: profileId, reason: 'spam links' } },
    ]);
    expect(await auditRows('persona.flag', `persona:${personaId}`)).toEqual([
      expect.objectContaining({ actor: 'admin', correlation_id: correlationId, detail: { reason: 'spam links', flagId: flag.id } }),
    ]);
  });

  it.each([
    ['an empty reason', { reason: '' }],
    ['no reason', {}],
    ['an unknown property', { reason: 'x', severity: 3 }],
    ['a reason that is not text', { reason: 42 }],
  ])('refuses %s with 400 and records nothing', async (_case, payload) => {
    const { personaId } = await person();
    expectError(await admin('POST', `/admin/personas/${personaId}/flags`, payload), 400, 'VALIDATION_FAILED');
    expect(await db().selectFrom('persona_flags').select('id').where('persona_id', '=', personaId).execute()).toEqual([]);
  });

  it('answers 404 PERSONA_NOT_FOUND for an unknown persona', async () => {
    expectError(await admin('POST', `/admin/personas/${randomUUID()}/flags`, { reason: 'x' }), 404, 'PERSONA_NOT_FOUND');
  });
});

describe('a person\'s accountability', () => {
  it.each([
    [0, 'LOW'],
    [0.29, 'LOW'],
    [0.3, 'MEDIUM'],
    [0.69, 'MEDIUM'],
    [0.7, 'HIGH'],
    [1, 'HIGH'],
  ] as const)('an abuse score of %s makes the risk level %s', async (score, riskLevel) => {
    const { profileId } = await person();
    const response = await admin('PUT', `/admin/people/${profileId}/abuse-score`, { score });
    expect(response.statusCode).toBe(200);
    expect(response.json().accountability).toMatchObject({ accountabilityProfileId: profileId, abuseScore: score, riskLevel });
    expect(await profileRow(profileId)).toMatchObject({ risk_level: riskLevel });
    expect(Math.abs((await profileRow(profileId)).abuse_score - score)).toBeLessThan(1e-6);
    expect(await eventsAbout('AccountabilityChanged', profileId)).toEqual([
      { type: 'AccountabilityChanged', payload: { accountabilityProfileId: profileId, changes: { abuseScore: score, riskLevel } } },
    ]);
    expect(published).toContainEqual({ kind: 'profile', id: profileId });
  });

  it('keeps a risk level given with the score', async () => {
    const { profileId } = await person();
    const response = await admin('PUT', `/admin/people/${profileId}/abuse-score`, { score: 0.9, riskLevel: 'MEDIUM' });
    expect(response.json().accountability).toMatchObject({ abuseScore: 0.9, riskLevel: 'MEDIUM' });
  });

  it('derives the risk level under the thresholds in force (policy risk_thresholds)', async () => {
    const { profileId } = await person();
    const set = await admin('PUT', '/admin/policies/risk_thresholds', { value: { medium: 0.5, high: 0.9 } });
    expect(set.statusCode).toBe(200);
    try {
      expect((await admin('PUT', `/admin/people/${profileId}/abuse-score`, { score: 0.4 })).json().accountability.riskLevel).toBe('LOW');
      expect((await admin('PUT', `/admin/people/${profileId}/abuse-score`, { score: 0.8 })).json().accountability.riskLevel).toBe('MEDIUM');
    } finally {
      await test.app.inject({ method: 'DELETE', url: '/admin/policies/risk_thresholds', headers: test.adminHeaders });
    }
  });

  it.each([
    ['risk-level', { riskLevel: 'HIGH' }, { risk_level: 'HIGH' }, 'AccountabilityChanged', { changes: { riskLevel: 'HIGH' } }],
    ['verified', { verified: true }, { is_verified: true }, 'AccountabilityChanged', { changes: { verified: true } }],
    ['legal-hold', { legalHold: true }, { legal_hold: true }, 'LegalHoldChanged', { legalHold: true }],
  ] as const)('PUT %s changes the person, with its event, audit row and cache invalidation', async (setting, payload, row, type, eventPayload) => {
    const { profileId } = await person();
    const response = await admin('PUT', `/admin/people/${profileId}/${setting}`, payload);
    expect(response.statusCode).toBe(200);
    expect(response.json().accountability).toMatchObject(payload);
    expect(await profileRow(profileId)).toMatchObject(row);
    expect(await eventsAbout(type, profileId)).toEqual([{ type, payload: { accountabilityProfileId: profileId, ...eventPayload } }]);
    expect(await auditRows(`person.${setting}`, `person:${profileId}`)).toEqual([
      expect.objectContaining({ actor: 'admin', correlation_id: response.json().correlationId, detail: payload }),
    ]);
    expect(published).toContainEqual({ kind: 'profile', id: profileId });
  });

  it('undoes: unverify and lift the hold', async () => {
    const { profileId } = await person();
    for (const [setting, on, off] of [['verified', { verified: true }, { verified: false }], ['legal-hold', { legalHold: true }, { legalHold: false }]] as const) {
      expect((await admin('PUT', `/admin/people/${profileId}/${setting}`, on)).statusCode).toBe(200);
      expect((await admin('PUT', `/admin/people/${profileId}/${setting}`, off)).json().accountability).toMatchObject(off);
    }
    expect(await profileRow(profileId)).toMatchObject({ is_verified: false, legal_hold: false });
  });

  it.each([
    ['abuse-score', { score: 1.5 }],
    ['abuse-score', { score: -0.1 }],
    ['abuse-score', { score: '0.5' }],
    ['abuse-score', { riskLevel: 'LOW' }],
    ['abuse-score', { score: 0.5, riskLevel: 'SEVERE' }],
    ['risk-level', { riskLevel: 'low' }],
    ['risk-level', { riskLevel: 'HIGH', abuseScore: 1 }],
    ['verified', { verified: 'true' }],
    ['legal-hold', { legalHold: 1 }],
    ['legal-hold', {}],
  ])('PUT %s refuses %j with 400 and changes nothing', async (setting, payload) => {
    const { profileId } = await person();
    const before = await profileRow(profileId);
    const audits = await auditCount();
    expectError(await admin('PUT', `/admin/people/${profileId}/${setting}`, payload), 400, 'VALIDATION_FAILED');
    expect(await profileRow(profileId)).toEqual(before);
    expect(await auditCount()).toBe(audits);
    expect(published).toEqual([]);
  });

  it('answers 404 PERSON_NOT_FOUND for an unknown person: no event, no audit row, nothing published', async () => {
    const unknown = randomUUID();
    const audits = await auditCount();
    for (const [setting, payload] of [['abuse-score', { score: 0.5 }], ['risk-level', { riskLevel: 'HIGH' }], ['verified', { verified: true }], ['legal-hold', { legalHold: true }]] as const) {
      expectError(await admin('PUT', `/admin/people/${unknown}/${setting}`, payload), 404, 'PERSON_NOT_FOUND');
    }
    expect(await auditCount()).toBe(audits);
    const events = await db().selectFrom('outbox').select('payload').execute();
    expect(events.filter((row) => row.payload.accountabilityProfileId === unknown)).toEqual([]);
    expect(published).toEqual([]);
  });

  it('lets a moderator token do it, audited under that token', async () => {
    const issued = (await admin('POST', '/admin/tokens', { name: 'mod', role: 'moderator' })).json();
    const { profileId } = await person();
    const response = await admin('PUT', `/admin/people/${profileId}/risk-level`, { riskLevel: 'MEDIUM' }, { authorization: `Bearer ${issued.token}` });
    expect(response.statusCode).toBe(200);
    expect(await auditRows('person.risk-level', `person:${profileId}`)).toEqual([
      expect.objectContaining({ actor: `admin-token:${issued.adminToken.id}` }),
    ]);
  });
});

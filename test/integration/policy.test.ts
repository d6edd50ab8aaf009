import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp({ env: { SESSION_CACHE_TTL_SECONDS: '3600' } });
});
afterAll(() => test.close());
afterEach(async () => {
  await test.database.db.deleteFrom('policies').execute();
});

const db = () => test.database.db;
const admin = (method: 'GET' | 'PUT' | 'DELETE' | 'POST', url: string, payload?: object, headers = test.adminHeaders) =>
  test.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
const check = (visitor: Visitor, action: string, personaId?: string) =>
  visitor.request('POST', '/policy/check', { action, ...(personaId ? { personaId } : {}) });

async function started() {
  const visitor = new Visitor(test.app);
  const { persona } = await visitor.start();
  return { visitor, persona };
}

async function profileIdOf(personaId: string): Promise<string> {
  const row = await db().selectFrom('personas').select('accountability_profile_id').where('id', '=', personaId).executeTakeFirstOrThrow();
  return row.accountability_profile_id;
}

function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: response.headers['x-correlation-id'] });
}

const auditRows = (action: string) => db().selectFrom('audit_log').selectAll().where('action', '=', action).execute();
const events = async (type: string) => (await db().selectFrom('outbox').select('payload').where('type', '=', type).execute()).map((r) => r.payload);

describe('the admin policy API', () => {
  it('lists every policy with its value, default and description', async () => {
    const response = await admin('GET', '/admin/policies');
    expect(response.statusCode).toBe(200);
    const byName = Object.fromEntries(response.json().policies.map((p: { name: string }) => [p.name, p]));
    expect(Object.keys(byName).sort()).toEqual([
      'deactivation_grace_days', 'deletion_purge_days', 'display_name_reuse_window_days', 'high_risk_blocked_actions',
      'max_personas_per_user', 'min_trust_level_for_action', 'min_trust_level_to_invite', 'persona_creation_rate_limit',
      'persona_rotation_cooldown', 'risk_thresholds', 'territory_move_cooldown_days',
    ]);
    expect(byName.max_personas_per_user).toEqual({
      name: 'max_personas_per_user', value: 3, defaultValue: 3, overridden: false, updatedAt: null, description: expect.any(String),
    });
    expect(byName.persona_creation_rate_limit.value).toEqual({ count: 1, windowDays: 7 });
    expect(byName.risk_thresholds.value).toEqual({ medium: 0.3, high: 0.7 });
    expectError(await admin('GET', '/admin/policies', undefined, { authorization: 'Bearer wrong' }), 401, 'ADMIN_UNAUTHORIZED');
  });

  it('stores a valid override (audited, PolicyChanged) that takes effect at once, and resets it', async () => {
    const { visitor } = await started();
    const response = await admin('PUT', '/admin/policies/max_personas_per_user', { value: 1 });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().policy).toMatchObject({ name: 'max_personas_per_user', value: 1, overridden: true, updatedAt: expect.any(String) });
    expect(await auditRows('policy.set')).toContainEqual(
      expect.objectContaining({ actor: 'admin', target: 'policy:max_personas_per_user', correlation_id: response.json().correlationId, detail: { value: 1 } }),
    );
    expect(await events('PolicyChanged')).toContainEqual({ name: 'max_personas_per_user', value: 1 });
    expectError(await visitor.request('POST', '/personas', { displayName: `One Only ${randomUUID().slice(0, 6)}` }), 409, 'PERSONA_LIMIT_REACHED');

    const reset = await admin('DELETE', '/admin/policies/max_personas_per_user');
    expect(reset.statusCode, reset.body).toBe(200);
    expect(reset.json().policy).toMatchObject({ value: 3, overridden: false, updatedAt: null });
    expect(await auditRows('policy.reset')).toHaveLength(1);
    expect(await events('PolicyChanged')).toContainEqual({ name: 'max_personas_per_user', value: 3 });
    expect((await visitor.request('POST', '/personas', { displayName: `Two Now ${randomUUID().slice(0, 6)}` })).statusCode).toBe(201);
  });

  it.each([
    ['a string for a number', 'max_personas_per_user', { value: '3' }],
    ['zero personas', 'max_personas_per_user', { value: 0 }],
    ['an unknown field', 'persona_creation_rate_limit', { value: { count: 1, windowDays: 7, burst: 2 } }],
    ['a missing field', 'persona_rotation_cooldown', { value: {} }],
    ['an unknown trust level', 'min_trust_level_for_action', { value: { 'board.post': 'GOLD' } }],
    ['inverted thresholds', 'risk_thresholds', { value: { medium: 0.8, high: 0.2 } }],
    ['no value', 'max_personas_per_user', {}],
    ['an extra property', 'max_personas_per_user', { value: 2, note: 'x' }],
  ])('refuses %s with 400 VALIDATION_FAILED and stores nothing', async (_case, name, payload) => {
    const auditBefore = (await db().selectFrom('audit_log').select('id').execute()).length;
    expectError(await admin('PUT', `/admin/policies/${name}`, payload), 400, 'VALIDATION_FAILED');
    expect(await db().selectFrom('policies').selectAll().execute()).toEqual([]);
    expect((await db().selectFrom('audit_log').select('id').execute()).length).toBe(auditBefore);
  });

  it('answers 404 POLICY_NOT_FOUND for an unknown policy', async () => {
    expectError(await admin('PUT', '/admin/policies/max_cats', { value: 1 }), 404, 'POLICY_NOT_FOUND');
    expectError(await admin('DELETE', '/admin/policies/max_cats'), 404, 'POLICY_NOT_FOUND');
  });

  it('lets a moderator read policies but not change them', async () => {
    const issued = await admin('POST', '/admin/tokens', { name: 'mod', role: 'moderator' });
    expect(issued.statusCode, issued.body).toBe(201);
    const moderator = { authorization: `Bearer ${issued.json().token}` };
    expect((await admin('GET', '/admin/policies', undefined, moderator)).statusCode).toBe(200);
    expectError(await admin('PUT', '/admin/policies/max_personas_per_user', { value: 5 }, moderator), 403, 'ADMIN_FORBIDDEN');
    expectError(await admin('DELETE', '/admin/policies/max_personas_per_user', undefined, moderator), 403, 'ADMIN_FORBIDDEN');
    expect(await db().selectFrom('policies').selectAll().execute()).toEqual([]);
  });
});

describe('POST /policy/check', () => {
  it('answers the same as the service would act, with a stable code and a reason', async () => {
    const { visitor } = await started();
    const allowed = await check(visitor, 'persona.create');
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json()).toEqual({ allowed: true, correlationId: allowed.headers['x-correlation-id'] });

    expect((await visitor.request('POST', '/personas', { displayName: `Checked ${randomUUID().slice(0, 6)}` })).statusCode).toBe(201);
    const limited = (await check(visitor, 'persona.create')).json();
    expect(limited).toEqual({
      allowed: false, code: 'PERSONA_RATE_LIMITED', reason: expect.any(String), retryAfter: expect.any(String), correlationId: expect.any(String),
    });
    expect(new Date(limited.retryAfter).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
  });

  it('tells a HIGH-risk person only that they are suspended, and a MEDIUM-risk one nothing', async () => {
    const { visitor, persona } = await started();
    const profileId = await profileIdOf(persona.id);
    await db().updateTable('accountability_profiles').set({ risk_level: 'MEDIUM', abuse_score: 0.5 }).where('id', '=', profileId).execute();
    expect((await check(visitor, 'persona.create')).json().allowed).toBe(true);

    await db().updateTable('accountability_profiles').set({ risk_level: 'HIGH', abuse_score: 0.95 }).where('id', '=', profileId).execute();
    for (const action of ['persona.create', 'persona.rotate']) {
      const response = await check(visitor, action);
      expect(response.json()).toMatchObject({ allowed: false, code: 'ACCOUNT_SUSPENDED' });
      expect(response.body).not.toMatch(/HIGH|MEDIUM|risk|score|0\.95/i);
    }
    // Actions outside the blocked list are the apps' to decide (e.g. review queues).
    expect((await check(visitor, 'board.read')).json().allowed).toBe(true);
  });

  it('answers a banned caller BANNED rather than refusing the question', async () => {
    const { visitor, persona } = await started();
    await db().updateTable('accountability_profiles').set({ banned_at: new Date(), ban_reason: 'spam' }).where('id', '=', await profileIdOf(persona.id)).execute();
    const response = await check(visitor, 'persona.create');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ allowed: false, code: 'BANNED' });
  });

  it('requires the minimum trust level, met after a manual promotion (audited, PersonaTrustChanged)', async () => {
    const { visitor, persona } = await started();
    const put = await admin('PUT', '/admin/policies/min_trust_level_for_action', { value: { 'board.post': 'REGULAR' } });
    expect(put.statusCode, put.body).toBe(200);
    expect((await check(visitor, 'board.post')).json()).toMatchObject({ allowed: false, code: 'TRUST_LEVEL_TOO_LOW' });
    expect((await visitor.request('GET', '/session')).json().persona.trustLevel).toBe('NEW'); // cached

    const promoted = await admin('POST', `/admin/personas/${persona.id}/trust-level`, { trustLevel: 'REGULAR' });
    expect(promoted.statusCode, promoted.body).toBe(200);
    expect(promoted.json().persona).toEqual({ id: persona.id, trustLevel: 'REGULAR', trustGrantedAt: expect.any(String) });
    expect(await auditRows('persona.trust-level')).toContainEqual(
      expect.objectContaining({ target: `persona:${persona.id}`, detail: { trustLevel: 'REGULAR' }, correlation_id: promoted.json().correlationId }),
    );
    expect(await events('PersonaTrustChanged')).toContainEqual({ personaId: persona.id, trustLevel: 'REGULAR' });
    const row = await db().selectFrom('personas').select(['trust_level', 'trust_granted_at']).where('id', '=', persona.id).executeTakeFirstOrThrow();
    expect(row.trust_granted_at.toISOString()).toBe(promoted.json().persona.trustGrantedAt);
    expect((await visitor.request('GET', '/session')).json().persona.trustLevel).toBe('REGULAR');
    expect((await check(visitor, 'board.post')).json().allowed).toBe(true);
    expect((await check(visitor, 'board.post', persona.id)).json().allowed).toBe(true);
  });

  it('refuses a persona that is not the caller\'s, a malformed action, and a caller without a session', async () => {
    const { visitor } = await started();
    const other = await started();
    expectError(await check(visitor, 'persona.create', other.persona.id), 404, 'PERSONA_NOT_FOUND');
    expectError(await check(visitor, 'Persona Create'), 400, 'VALIDATION_FAILED');
    expectError(await visitor.request('POST', '/policy/check', { action: 'persona.create', extra: 1 }), 400, 'VALIDATION_FAILED');
    expectError(await check(new Visitor(test.app), 'persona.create'), 401, 'SESSION_REQUIRED');
  });
});

describe('trust-level admin API', () => {
  it('answers 404 for an unknown persona and 400 for an unknown level, changing nothing', async () => {
    const { persona } = await started();
    expectError(await admin('POST', `/admin/personas/${randomUUID()}/trust-level`, { trustLevel: 'TRUSTED' }), 404, 'PERSONA_NOT_FOUND');
    expectError(await admin('POST', `/admin/personas/${persona.id}/trust-level`, { trustLevel: 'GOLD' }), 400, 'VALIDATION_FAILED');
    const row = await db().selectFrom('personas').select('trust_level').where('id', '=', persona.id).executeTakeFirstOrThrow();
    expect(row.trust_level).toBe('NEW');
  });
});

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApp, startTestApp, Visitor, type TestApp } from '../support/app.js';

let test: TestApp;
let moderator: { id: string; headers: { authorization: string } };
beforeAll(async () => {
  test = await startTestApp();
  const issued = await test.app.inject({
    method: 'POST',
    url: '/admin/tokens',
    headers: test.adminHeaders,
    payload: { name: 'audit moderator', role: 'moderator' },
  });
  moderator = { id: issued.json().adminToken.id, headers: { authorization: `Bearer ${issued.json().token}` } };
});
afterAll(() => test.close());

const db = () => test.database.db;
const lastAuditId = async () => (await db().selectFrom('audit_log').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst())?.id ?? '0';
const auditRowsAfter = (id: string | number | bigint) => db().selectFrom('audit_log').selectAll().where('id', '>', String(id)).orderBy('id').execute();

async function person(): Promise<{ personaId: string; profileId: string }> {
  const { persona } = await new Visitor(test.app).start();
  const row = await db().selectFrom('personas').select('accountability_profile_id').where('id', '=', persona.id).executeTakeFirstOrThrow();
  return { personaId: persona.id, profileId: row.accountability_profile_id };
}

type Request = { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: string; payload?: object; asModerator?: boolean };
type Case = { action: string; target: string; request: Request };

/** Each admin action, prepared on fresh subjects, with the audit row it must write. */
async function cases(): Promise<Array<[string, Case]>> {
  const a = await person();
  const b = await person();
  const app = await registerApp(test, 'audited');
  const token = (await test.app.inject({ method: 'POST', url: '/admin/tokens', headers: test.adminHeaders, payload: { name: 'to revoke', role: 'moderator' } })).json();
  const appeal = (await test.app.inject({ method: 'POST', url: '/admin/appeals', headers: test.adminHeaders, payload: { personaId: b.personaId, statement: 's' } })).json().appeal;
  const people = `/admin/people/${a.profileId}`;
  const entries: Array<[string, Case]> = [
    ['admin-token.create', { action: 'admin-token.create', target: 'admin-token:*', request: { method: 'POST', url: '/admin/tokens', payload: { name: 'n', role: 'admin' } } }],
    ['admin-token.revoke', { action: 'admin-token.revoke', target: `admin-token:${token.adminToken.id}`, request: { method: 'DELETE', url: `/admin/tokens/${token.adminToken.id}` } }],
    ['app.create', { action: 'app.create', target: '*', request: { method: 'POST', url: '/admin/apps', payload: { name: 'another' } } }],
    ['app.revoke', { action: 'app.revoke', target: app.id, request: { method: 'DELETE', url: `/admin/apps/${app.id}` } }],
    ['person.lookup by persona', { action: 'person.lookup', target: `persona:${a.personaId}`, request: { method: 'GET', url: `/admin/personas/${a.personaId}`, asModerator: true } }],
    ['person.lookup by person', { action: 'person.lookup', target: `person:${a.profileId}`, request: { method: 'GET', url: people, asModerator: true } }],
    ['persona.flag', { action: 'persona.flag', target: `persona:${a.personaId}`, request: { method: 'POST', url: `/admin/personas/${a.personaId}/flags`, payload: { reason: 'r' }, asModerator: true } }],
    ['person.abuse-score', { action: 'person.abuse-score', target: `person:${a.profileId}`, request: { method: 'PUT', url: `${people}/abuse-score`, payload: { score: 0.4 }, asModerator: true } }],
    ['person.risk-level', { action: 'person.risk-level', target: `person:${a.profileId}`, request: { method: 'PUT', url: `${people}/risk-level`, payload: { riskLevel: 'LOW' }, asModerator: true } }],
    ['person.verified', { action: 'person.verified', target: `person:${a.profileId}`, request: { method: 'PUT', url: `${people}/verified`, payload: { verified: true }, asModerator: true } }],
    ['person.legal-hold', { action: 'person.legal-hold', target: `person:${a.profileId}`, request: { method: 'PUT', url: `${people}/legal-hold`, payload: { legalHold: true }, asModerator: true } }],
    ['appeal.open', { action: 'appeal.open', target: 'appeal:*', request: { method: 'POST', url: '/admin/appeals', payload: { personaId: a.personaId, statement: 's' }, asModerator: true } }],
    ['appeal.resolve', { action: 'appeal.resolve', target: `appeal:${appeal.id}`, request: { method: 'POST', url: `/admin/appeals/${appeal.id}/resolve`, payload: { status: 'upheld', resolution: 'r' }, asModerator: true } }],
    ['ban.place', { action: 'ban.place', target: `persona:${b.personaId}`, request: { method: 'POST', url: '/admin/bans', payload: { subject: { personaId: b.personaId }, reason: 'r' }, asModerator: true } }],
    ['ban.lift', { action: 'ban.lift', target: `persona:${b.personaId}`, request: { method: 'POST', url: '/admin/bans/lift', payload: { subject: { personaId: b.personaId } }, asModerator: true } }],
  ];
  return entries;
}

describe('the audit trail of admin actions', () => {
  it('writes exactly one row per action: actor, action, target, correlation id and time', async () => {
    for (const [name, { action, target, request }] of await cases()) {
      const before = await lastAuditId();
      const startedAt = Date.now();
      const response = await test.app.inject({
        method: request.method,
        url: request.url,
        headers: request.asModerator ? moderator.headers : test.adminHeaders,
        ...(request.payload ? { payload: request.payload } : {}),
      });
      expect(response.statusCode, name).toBeLessThan(300);
      const rows = await auditRowsAfter(before);
      expect(rows, name).toHaveLength(1);
      const [row] = rows;
      expect(row, name).toMatchObject({
        actor: request.asModerator ? `admin-token:${moderator.id}` : 'admin',
        action,
        correlation_id: response.headers['x-correlation-id'],
      });
      if (target.endsWith('*')) expect(row!.target.startsWith(target.slice(0, -1)), name).toBe(true);
      else expect(row!.target, name).toBe(target);
      // Written by the database's clock, in this request.
      expect(row!.at.getTime(), name).toBeGreaterThanOrEqual(startedAt - 5_000);
      expect(row!.at.getTime(), name).toBeLessThanOrEqual(Date.now() + 5_000);
    }
  });

  it('commits the change with its audit row or not at all', async () => {
    const { profileId } = await person();
    // Make the audit insert fail for one action (new rows only): the change it records must roll back with it.
    await sql`alter table audit_log add constraint audit_test_refuses check (action <> 'person.verified') not valid`.execute(db());
    try {
      const response = await test.app.inject({
        method: 'PUT',
        url: `/admin/people/${profileId}/verified`,
        headers: test.adminHeaders,
        payload: { verified: true },
      });
      expect(response.statusCode).toBe(500);
      expect(response.json().code).toBe('INTERNAL_ERROR');
    } finally {
      await sql`alter table audit_log drop constraint audit_test_refuses`.execute(db());
    }
    const profile = await db().selectFrom('accountability_profiles').select('is_verified').where('id', '=', profileId).executeTakeFirstOrThrow();
    expect(profile.is_verified).toBe(false);
    const events = await db().selectFrom('outbox').select('payload').where('type', '=', 'AccountabilityChanged').execute();
    expect(events.filter((e) => e.payload.accountabilityProfileId === profileId)).toEqual([]);
  });
});

describe('the audit log table', () => {
  it('refuses UPDATE, DELETE and TRUNCATE, even ones that would touch no row', async () => {
    const { personaId } = await person();
    await test.app.inject({ method: 'GET', url: `/admin/personas/${personaId}`, headers: test.adminHeaders });
    const before = await db().selectFrom('audit_log').selectAll().orderBy('id').execute();
    expect(before.length).toBeGreaterThan(0);
    const id = String(before[0]!.id);
    for (const statement of [
      sql`update audit_log set actor = 'someone else' where id = ${id}`,
      sql`update audit_log set detail = '{}' where false`,
      sql`delete from audit_log where id = ${id}`,
      sql`delete from audit_log`,
      sql`truncate audit_log`,
    ]) {
      await expect(statement.execute(db())).rejects.toThrow(/append-only/);
    }
    expect(await db().selectFrom('audit_log').selectAll().orderBy('id').execute()).toEqual(before);
  });
});

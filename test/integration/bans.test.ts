import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pseudonyms } from '../../src/crypto/pseudonyms.js';
import { registerApp, resolveForApp, startTestApp, Visitor, type TestApp } from '../support/app.js';

let test: TestApp;
let app: { id: string; apiKey: string };
beforeAll(async () => {
  // A long cache TTL: a ban seen by a warmed GET /session must come from invalidation, never from expiry.
  test = await startTestApp({ env: { SESSION_CACHE_TTL_SECONDS: '3600' } });
  app = await registerApp(test, 'board');
});
afterAll(() => test.close());

type Persona = { id: string; authorId: string };
type Subject = { personaId: string } | { authorId: string } | { personHash: string };

const admin = (url: string, payload: object) => test.app.inject({ method: 'POST', url, headers: test.adminHeaders, payload });
const ban = (subject: Subject, reason = 'spam') => admin('/admin/bans', { subject, reason });
const lift = (subject: Subject) => admin('/admin/bans/lift', { subject });

const sessionOf = async (visitor: Visitor) => (await visitor.request('GET', '/session')).json();
const linkIdentity = (visitor: Visitor) => visitor.request('POST', '/identity-link', { identityData: { name: 'Ada' }, consent: true });
const resolvedBan = async (visitor: Visitor) => (await resolveForApp(test, app, visitor)).json().banned;
const auditCount = async () => (await test.database.db.selectFrom('audit_log').select('id').execute()).length;

/** A started visitor whose session sits in the node's cache (GET /session twice: miss, then hit). */
async function startedAndCached(): Promise<{ visitor: Visitor; persona: Persona }> {
  const visitor = new Visitor(test.app);
  const { persona } = await visitor.start();
  for (let i = 0; i < 2; i++) expect((await sessionOf(visitor)).banned).toBe(false);
  return { visitor, persona };
}

function expectBannedError(response: Awaited<ReturnType<Visitor['request']>>) {
  expect(response.statusCode).toBe(403);
  expect(response.json()).toEqual({ code: 'BANNED', message: expect.any(String), correlationId: response.headers['x-correlation-id'] });
}

describe('a ban, by each kind of subject', () => {
  it.each([
    ['persona id', 'persona', async (_v: Visitor, p: Persona) => ({ personaId: p.id })],
    ['author id', 'author', async (_v: Visitor, p: Persona) => ({ authorId: p.authorId })],
    ['person hash', 'person-hash', async (v: Visitor) => ({ personHash: (await resolveForApp(test, app, v)).json().personHash })],
  ])('by %s: applies on the next request, is audited, and lifts', async (_kind, prefix, subjectOf) => {
    const { visitor, persona } = await startedAndCached();
    const subject: Subject = await subjectOf(visitor, persona);
    const target = `${prefix}:${Object.values(subject)[0]}`;

    const placed = await ban(subject, 'posting spam');
    expect(placed.statusCode).toBe(200);
    expect(placed.json()).toEqual({ banned: true, correlationId: placed.headers['x-correlation-id'] });

    // The cached session is dropped: the very next GET shows the ban.
    expect(await sessionOf(visitor)).toMatchObject({ started: true, banned: true, persona });
    expectBannedError(await visitor.request('POST', '/session'));
    expectBannedError(await linkIdentity(visitor));
    expect((await visitor.request('GET', '/identity-link')).json().code).toBe('IDENTITY_LINK_NOT_FOUND');
    expect(await resolvedBan(visitor)).toBe(true);

    const placedAudit = await test.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'ban.place').where('target', '=', target).execute();
    expect(placedAudit).toEqual([
      expect.objectContaining({ actor: 'admin', correlation_id: placed.json().correlationId, detail: { reason: 'posting spam', sessionsRevoked: 0 } }),
    ]);

    const lifted = await lift(subject);
    expect(lifted.statusCode).toBe(200);
    expect(lifted.json()).toEqual({ banned: false, correlationId: lifted.headers['x-correlation-id'] });
    // The session was cached again while banned; lifting drops that entry too.
    expect((await sessionOf(visitor)).banned).toBe(false);
    expect((await linkIdentity(visitor)).statusCode).toBe(201);
    expect((await visitor.request('POST', '/session')).statusCode).toBe(200);
    expect(await resolvedBan(visitor)).toBe(false);
    const liftAudit = await test.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'ban.lift').where('target', '=', target).execute();
    expect(liftAudit).toEqual([expect.objectContaining({ actor: 'admin', correlation_id: lifted.json().correlationId })]);
  });

  it('still lets a banned person delete their own identity data', async () => {
    const { visitor, persona } = await startedAndCached();
    expect((await linkIdentity(visitor)).statusCode).toBe(201);
    await ban({ personaId: persona.id });
    const response = await visitor.request('DELETE', '/identity-link');
    expect(response.statusCode).toBe(200);
    expect(response.json().deleted).toBe(true);
  });
});

describe('refused ban requests change nothing', () => {
  it.each([
    ['an unknown persona id', { personaId: randomUUID() }],
    ['an unknown author id', { authorId: 'k1.AAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['an unknown person hash', { personHash: 'k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
  ])('answers 404 SUBJECT_NOT_FOUND for %s, on ban and on lift', async (_case, subject) => {
    const before = await auditCount();
    for (const response of [await ban(subject), await lift(subject)]) {
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ code: 'SUBJECT_NOT_FOUND', message: expect.any(String), correlationId: expect.any(String) });
    }
    expect(await auditCount()).toBe(before);
  });

  it.each([
    ['two subject keys', (personaId: string) => ({ subject: { personaId, authorId: 'k1.x' }, reason: 'spam' })],
    ['a missing reason', (personaId: string) => ({ subject: { personaId } })],
    ['an empty reason', (personaId: string) => ({ subject: { personaId }, reason: '' })],
    ['an empty subject', () => ({ subject: {}, reason: 'spam' })],
    ['a missing subject', () => ({ reason: 'spam' })],
    ['a persona id that is not a uuid', () => ({ subject: { personaId: 'nope' }, reason: 'spam' })],
    ['an unknown property', (personaId: string) => ({ subject: { personaId }, reason: 'spam', extra: true })],
  ])('answers 400 VALIDATION_FAILED for %s', async (_case, payloadFor) => {
    // A real persona where the body names one, so only the shape can be the reason for refusal.
    const { persona } = await startedAndCached();
    const body = payloadFor(persona.id);
    const before = await auditCount();
    const response = await admin('/admin/bans', body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'VALIDATION_FAILED', correlationId: expect.any(String) });
    expect(await auditCount()).toBe(before);
    const profile = await test.database.db
      .selectFrom('personas as p')
      .innerJoin('accountability_profiles as ap', 'ap.id', 'p.accountability_profile_id')
      .select('ap.banned_at')
      .where('p.id', '=', persona.id)
      .executeTakeFirstOrThrow();
    expect(profile.banned_at).toBeNull();
  });
});

describe('a ban lands on the person, not the persona', () => {
  it('bans a second persona, used from another account and session of the same person', async () => {
    const first = await startedAndCached();
    const second = new Visitor(test.app);
    const secondStart = await second.start();
    const db = test.database.db;

    // Model "same person, another account": give the first person a second persona, reachable only
    // from the second visitor's account, and re-point that account to the first person's profile.
    const { profileId } = await db
      .selectFrom('personas')
      .select('accountability_profile_id as profileId')
      .where('id', '=', first.persona.id)
      .executeTakeFirstOrThrow();
    const secondAccount = (await db
      .selectFrom('sessions as s')
      .innerJoin('persona_access as pa', 'pa.account_id', 's.account_id')
      .select('s.account_id as id')
      .where('pa.persona_id', '=', secondStart.persona.id)
      .executeTakeFirstOrThrow()).id;
    const personaId = randomUUID();
    const authorId = new Pseudonyms(test.config.secrets.pseudonymKeys).authorId(personaId);
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('personas')
        .values({ id: personaId, accountability_profile_id: profileId, display_name: 'Second Face', display_name_key: `second face ${personaId}`, author_id: authorId })
        .execute();
      await trx.insertInto('persona_access').values({ account_id: secondAccount, persona_id: personaId }).execute();
      await trx.updateTable('sessions').set({ active_persona_id: personaId }).where('account_id', '=', secondAccount).execute();
      await trx.updateTable('accounts').set({ accountability_profile_id: profileId }).where('id', '=', secondAccount).execute();
    });
    // The raw re-pointing bypassed the service, so its node cache still holds the old shape; a
    // state-changing request reads fresh and re-caches it. Then warm GET /session with the new shape.
    expect((await second.request('POST', '/session')).json().persona.id).toBe(personaId);
    for (let i = 0; i < 2; i++) {
      expect(await sessionOf(second)).toMatchObject({ banned: false, persona: { id: personaId, authorId } });
    }
    const [hashFirst, hashSecond] = await Promise.all(
      [first.visitor, second].map(async (v) => (await resolveForApp(test, app, v)).json().personHash),
    );
    expect(hashSecond).toBe(hashFirst); // one person, one hash per app

    expect((await ban({ personaId: first.persona.id })).statusCode).toBe(200);
    expect(await sessionOf(second)).toMatchObject({ banned: true, persona: { id: personaId } });
    expectBannedError(await second.request('POST', '/session'));
    expectBannedError(await linkIdentity(second));
    expect(await resolvedBan(second)).toBe(true);

    // Lifting by the other persona lifts it for the person: both sessions may act again.
    expect((await lift({ personaId })).statusCode).toBe(200);
    for (const visitor of [first.visitor, second]) {
      expect((await sessionOf(visitor)).banned).toBe(false);
      expect((await visitor.request('POST', '/session')).statusCode).toBe(200);
    }
  });
});

describe('the audit log', () => {
  it('refuses UPDATE, DELETE and TRUNCATE, leaving every row as it was', async () => {
    const { persona } = await startedAndCached();
    await ban({ personaId: persona.id }, 'to have rows');
    await lift({ personaId: persona.id });
    const db = test.database.db;
    const before = await db.selectFrom('audit_log').selectAll().orderBy('id').execute();
    expect(before.length).toBeGreaterThanOrEqual(2);

    await expect(sql`update audit_log set actor = 'x'`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_log`.execute(db)).rejects.toThrow(/append-only/);
    expect(await db.selectFrom('audit_log').selectAll().orderBy('id').execute()).toEqual(before);
  });
});

describe('what a ban does to the person', () => {
  /** A signed-in session of the person (an email account), made straight in the database. */
  async function signedInSession(profileId: string, personaId: string): Promise<string> {
    const db = test.database.db;
    const account = await db
      .insertInto('accounts')
      .values({ type: 'email', lookup_key: randomBytes(32), accountability_profile_id: profileId })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.insertInto('persona_access').values({ account_id: account.id, persona_id: personaId }).execute();
    const session = await db
      .insertInto('sessions')
      .values({
        token_hash: randomBytes(32),
        account_id: account.id,
        active_persona_id: personaId,
        expires_at: new Date(Date.now() + 86_400_000),
        idle_timeout_seconds: 3600,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return session.id;
  }

  const profileOf = async (personaId: string) =>
    (await test.database.db.selectFrom('personas').select('accountability_profile_id as id').where('id', '=', personaId).executeTakeFirstOrThrow()).id;
  const profileRow = (id: string) => test.database.db.selectFrom('accountability_profiles').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const events = async (type: string, profileId: string) =>
    (await test.database.db.selectFrom('outbox').select('payload').where('type', '=', type).execute()).filter(
      (row) => row.payload.accountabilityProfileId === profileId,
    );

  it('makes them HIGH risk, ends their signed-in sessions (not the guest one), and emits PersonBanned', async () => {
    const { visitor, persona } = await startedAndCached();
    const profileId = await profileOf(persona.id);
    const sessionId = await signedInSession(profileId, persona.id);
    const bystander = await startedAndCached();
    const bystanderSession = await signedInSession(await profileOf(bystander.persona.id), bystander.persona.id);

    const placed = await ban({ personaId: persona.id }, 'ban evasion');
    expect(placed.statusCode).toBe(200);
    expect(await profileRow(profileId)).toMatchObject({ risk_level: 'HIGH', ban_reason: 'ban evasion' });
    const remaining = await test.database.db.selectFrom('sessions').select('id').where('id', 'in', [sessionId, bystanderSession]).execute();
    expect(remaining.map((row) => row.id)).toEqual([bystanderSession]);
    // The guest session is the anonymous identity itself: it stays, and carries the ban.
    expect(await sessionOf(visitor)).toMatchObject({ started: true, banned: true });
    expect(await events('PersonBanned', profileId)).toEqual([{ payload: { accountabilityProfileId: profileId } }]);
    const [audit] = await test.database.db.selectFrom('audit_log').selectAll().where('correlation_id', '=', placed.json().correlationId).execute();
    expect(audit?.detail).toEqual({ reason: 'ban evasion', sessionsRevoked: 1 });
  });

  it('lifting it keeps the risk level (trust & safety lowers it) and emits PersonUnbanned', async () => {
    const { persona } = await startedAndCached();
    const profileId = await profileOf(persona.id);
    await ban({ personaId: persona.id });
    expect((await lift({ personaId: persona.id })).statusCode).toBe(200);
    expect(await profileRow(profileId)).toMatchObject({ banned_at: null, ban_reason: null, risk_level: 'HIGH' });
    expect(await events('PersonUnbanned', profileId)).toEqual([{ payload: { accountabilityProfileId: profileId } }]);
  });

  it('may be placed and lifted by a moderator token', async () => {
    const issued = await test.app.inject({
      method: 'POST',
      url: '/admin/tokens',
      headers: test.adminHeaders,
      payload: { name: 'ban moderator', role: 'moderator' },
    });
    const headers = { authorization: `Bearer ${issued.json().token}` };
    const { persona } = await startedAndCached();
    for (const url of ['/admin/bans', '/admin/bans/lift']) {
      const response = await test.app.inject({ method: 'POST', url, headers, payload: url.endsWith('lift') ? { subject: { personaId: persona.id } } : { subject: { personaId: persona.id }, reason: 'r' } });
      expect(response.statusCode).toBe(200);
      const [audit] = await test.database.db.selectFrom('audit_log').selectAll().where('correlation_id', '=', response.json().correlationId).execute();
      expect(audit?.actor).toBe(`admin-token:${issued.json().adminToken.id}`);
    }
  });
});

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSearchQuery, type AuditFilter } from '../../src/modules/audit/audit-search-repository.js';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';
import { newKeyPair, signKeyChallenge } from '../support/key-signer.js';
import { newWallet, signWalletChallenge } from '../support/wallet-signer.js';

/** The admin reads the staff console is built on: who am I, the flags queue, legal holds, audit search. */

let test: TestApp;
let moderator: { id: string; headers: { authorization: string } };
beforeAll(async () => {
  test = await startTestApp({ env: { PUBLIC_ORIGIN: 'https://id.example.test' } });
  const issued = await test.app.inject({ method: 'POST', url: '/admin/tokens', headers: test.adminHeaders, payload: { name: 'queue moderator', role: 'moderator' } });
  moderator = { id: issued.json().adminToken.id, headers: { authorization: `Bearer ${issued.json().token}` } };
});
afterAll(() => test.close());

const get = (url: string, headers: Record<string, string> = moderator.headers) => test.app.inject({ method: 'GET', url, headers });

async function person(): Promise<{ personaId: string; profileId: string; displayName: string }> {
  const { persona } = await new Visitor(test.app).start();
  const row = await test.database.db.selectFrom('personas').select(['accountability_profile_id', 'display_name']).where('id', '=', persona.id).executeTakeFirstOrThrow();
  return { personaId: persona.id, profileId: row.accountability_profile_id, displayName: row.display_name };
}

const flag = (personaId: string, reason: string) =>
  test.app.inject({ method: 'POST', url: `/admin/personas/${personaId}/flags`, headers: moderator.headers, payload: { reason } });

describe('GET /admin/me', () => {
  it('names the token\'s actor, role and name, and refuses no token', async () => {
    expect((await get('/admin/me')).json()).toMatchObject({ actor: `admin-token:${moderator.id}`, role: 'moderator', name: 'queue moderator' });
    expect((await get('/admin/me', test.adminHeaders)).json()).toMatchObject({ actor: 'admin', role: 'admin', name: 'Operator (ADMIN_TOKEN)' });
    const refused = await get('/admin/me', {});
    expect(refused.statusCode).toBe(401);
    expect(refused.json().code).toBe('ADMIN_UNAUTHORIZED');
  });
});

describe('GET /admin/flags', () => {
  it('lists flags newest first with the persona and where its person stands, and pages by the last flag seen', async () => {
    const a = await person();
    const b = await person();
    expect((await flag(a.personaId, 'first')).statusCode).toBe(201);
    await test.app.inject({ method: 'POST', url: '/admin/bans', headers: moderator.headers, payload: { subject: { personaId: b.personaId }, reason: 'spam' } });
    expect((await flag(b.personaId, 'second')).statusCode).toBe(201);

    const { flags } = (await get('/admin/flags?limit=2')).json();
    expect(flags).toHaveLength(2);
    expect(flags[0]).toMatchObject({ personaId: b.personaId, reason: 'second', displayName: b.displayName, accountabilityProfileId: b.profileId, banned: true, riskLevel: 'HIGH', personaActive: true, actor: `admin-token:${moderator.id}` });
    expect(flags[1]).toMatchObject({ personaId: a.personaId, reason: 'first', banned: false, riskLevel: 'LOW' });

    const next = (await get(`/admin/flags?limit=1&after=${flags[0].id}`)).json().flags;
    expect(next.map((item: { id: string }) => item.id)).toEqual([flags[1].id]);
    const older = (await get(`/admin/flags?after=${flags[1].id}`)).json().flags;
    expect(older.map((item: { id: string }) => item.id)).not.toContain(flags[1].id);
    expect(older.map((item: { id: string }) => item.id)).not.toContain(flags[0].id);
  });

  it('pages without losing flags made in the same instant', async () => {
    const a = await person();
    // One statement, one now(): three flags at exactly the same time, split across pages of one.
    await test.database.db.insertInto('persona_flags').values(['x', 'y', 'z'].map((reason) => ({ persona_id: a.personaId, reason, actor: 'test' }))).execute();
    const seen: string[] = [];
    let page = (await get('/admin/flags?limit=1')).json().flags;
    while (page.length > 0 && seen.length < 3) {
      seen.push(page[0].reason);
      page = (await get(`/admin/flags?limit=1&after=${page[0].id}`)).json().flags;
    }
    expect(seen.sort()).toEqual(['x', 'y', 'z']);
  });

  it('refuses bad input and no token', async () => {
    expect((await get('/admin/flags?limit=0')).json().code).toBe('VALIDATION_FAILED');
    expect((await get('/admin/flags?after=yesterday')).json().code).toBe('VALIDATION_FAILED');
    expect((await get('/admin/flags?other=1')).json().code).toBe('VALIDATION_FAILED');
    expect((await get('/admin/flags', {})).statusCode).toBe(401);
  });
});

describe('GET /admin/legal-holds', () => {
  it('lists exactly the people held, and drops one whose hold is lifted', async () => {
    const held = await person();
    const free = await person();
    const hold = (profileId: string, legalHold: boolean) =>
      test.app.inject({ method: 'PUT', url: `/admin/people/${profileId}/legal-hold`, headers: moderator.headers, payload: { legalHold } });
    expect((await hold(held.profileId, true)).statusCode).toBe(200);
    const ids = async () => (await get('/admin/legal-holds')).json().people.map((p: { accountabilityProfileId: string }) => p.accountabilityProfileId);
    expect(await ids()).toContain(held.profileId);
    expect(await ids()).not.toContain(free.profileId);
    await hold(held.profileId, false);
    expect(await ids()).not.toContain(held.profileId);
  });
});

describe('GET /admin/audit', () => {
  it('finds rows by target, by action family, by actor and by correlation id, newest first, and pages', async () => {
    const a = await person();
    await flag(a.personaId, 'audited');
    await get(`/admin/personas/${a.personaId}`);
    const byTarget = (await get(`/admin/audit?target=persona:${a.personaId}`)).json().entries;
    expect(byTarget.map((entry: { action: string }) => entry.action)).toEqual(['person.lookup', 'persona.flag']);
    expect(byTarget[1]).toMatchObject({ actor: `admin-token:${moderator.id}`, detail: { reason: 'audited' } });

    const family = (await get(`/admin/audit?action=person.&target=persona:${a.personaId}`)).json().entries;
    expect(family.map((entry: { action: string }) => entry.action)).toEqual(['person.lookup']);

    const byCorrelation = (await get(`/admin/audit?correlationId=${byTarget[0].correlationId}`)).json().entries;
    expect(byCorrelation).toEqual([byTarget[0]]);

    const page = (await get(`/admin/audit?target=persona:${a.personaId}&before=${byTarget[0].id}`)).json().entries;
    expect(page).toEqual([byTarget[1]]);

    const mine = (await get(`/admin/audit?actor=admin-token:${moderator.id}&limit=200`)).json().entries;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((entry: { actor: string }) => entry.actor === `admin-token:${moderator.id}`)).toBe(true);

    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await get(`/admin/audit?from=${encodeURIComponent(future)}`)).json().entries).toEqual([]);
  });

  it('gathers a person\'s trail: rows on the person and on any persona of theirs, and nobody else\'s', async () => {
    const visitor = new Visitor(test.app);
    const { persona: first } = await visitor.start();
    const created = await visitor.request('POST', '/personas', { displayName: `Second face ${Date.now()}` });
    expect(created.statusCode).toBe(201);
    const secondId: string = created.json().persona.id;
    const profile = await test.database.db.selectFrom('personas').select('accountability_profile_id').where('id', '=', first.id).executeTakeFirstOrThrow();
    const a = { profileId: profile.accountability_profile_id, personaId: secondId };
    const other = await person();
    await flag(secondId, 'on the second persona');
    await test.app.inject({ method: 'PUT', url: `/admin/people/${a.profileId}/verified`, headers: moderator.headers, payload: { verified: true } });
    await flag(other.personaId, 'someone else');
    const trail = (await get(`/admin/audit?person=${a.profileId}`)).json().entries;
    expect(trail.map((entry: { action: string; target: string }) => `${entry.action} ${entry.target}`)).toEqual([
      `person.verified person:${a.profileId}`,
      `persona.flag persona:${a.personaId}`,
    ]);
    // Pages and other filters hold within the trail, which is gathered per target (one of the person, one per persona).
    const [newest, older] = trail;
    expect((await get(`/admin/audit?person=${a.profileId}&limit=1`)).json().entries).toEqual([newest]);
    expect((await get(`/admin/audit?person=${a.profileId}&before=${newest.id}`)).json().entries).toEqual([older]);
    expect((await get(`/admin/audit?person=${a.profileId}&action=persona.`)).json().entries).toEqual([older]);
    expect((await get('/admin/audit?person=not-a-uuid')).json().code).toBe('VALIDATION_FAILED');
  });

  it('reads an index for each filter, not the whole log (migration 0016)', async () => {
    const db = test.database.db;
    // A few thousand rows, a minute apart: 20 busy staff and a rare one, 15 common actions and a rare one, 1,500 targets.
    // (Rows of a busy actor or a common action are dense: there, reading the log backwards is the better plan.)
    await sql`
      insert into audit_log (at, actor, action, target, correlation_id)
      select now() - make_interval(mins => 4000 - i), case when i % 500 = 0 then 'seed:rare' else 'seed:' || (i % 20) end,
        case when i % 1000 = 0 then 'seed.rare' else 'seed.' || (i % 15) end, 'seed:' || (i % 1500), 'seed-' || i
      from generate_series(1, 4000) i`.execute(db);
    await sql`analyze audit_log`.execute(db);
    const someone = await person();
    const plan = async (filter: Omit<AuditFilter, 'limit'>) => {
      const rows = await auditSearchQuery(db, { ...filter, limit: 50 }).explain<{ 'QUERY PLAN': string }>();
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    };
    expect(await plan({ actor: 'seed:rare' })).toContain('audit_log_actor_idx');
    expect(await plan({ action: 'seed.rare' })).toContain('audit_log_action_idx');
    expect(await plan({ target: 'seed:7' })).toContain('audit_log_target_idx');
    expect(await plan({ personId: someone.profileId })).toContain('audit_log_target_idx');
    expect(await plan({ correlationId: 'seed-42' })).toContain('audit_log_correlation_idx');
    expect(await plan({ from: new Date(Date.now() - 3000 * 60_000), to: new Date(Date.now() - 2940 * 60_000) })).toContain('audit_log_at_idx');
  });

  it('refuses a wildcard in an action and other bad input', async () => {
    expect((await get('/admin/audit?action=%25')).json().code).toBe('VALIDATION_FAILED');
    expect((await get('/admin/audit?action=person_')).json().code).toBe('VALIDATION_FAILED');
    expect((await get('/admin/audit?before=abc')).json().code).toBe('VALIDATION_FAILED');
    expect((await get('/admin/audit?from=soon')).json().code).toBe('VALIDATION_FAILED');
  });
});

describe('GET /admin/people/{profileId}/sign-in-methods', () => {
  const call = (url: string, token: string | undefined, payload: object) =>
    test.app.inject({ method: 'POST', url, payload, headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('lists the kinds of method and the direct links with their privacy mode, never an identifier, and audits the look-up', async () => {
    const pair = newKeyPair();
    const keyChallenge = (await call('/api/v2/auth/challenge', undefined, { strategy: 'key', publicKey: pair.publicKey, purpose: 'sign-in' })).json();
    const signedIn = await call('/api/v2/auth/authenticate', undefined, { ...signKeyChallenge(keyChallenge, pair), client: 'api' });
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    const token: string = signedIn.json().accessToken;
    const wallet = newWallet();
    const walletChallenge = (await call('/api/v2/auth/challenge', token, { strategy: 'wallet', purpose: 'link' })).json();
    const { strategy: _strategy, ...proof } = await signWalletChallenge(walletChallenge, wallet);
    const linked = await call('/api/v2/auth/link-accounts', token, { targetType: 'wallet', targetIdentifier: wallet.address, privacyMode: 'partial', proof });
    expect(linked.statusCode, linked.body).toBe(200);
    const personaId: string = signedIn.json().profiles[0].id;
    const { accountability_profile_id: profileId } = await test.database.db.selectFrom('personas').select('accountability_profile_id').where('id', '=', personaId).executeTakeFirstOrThrow();

    const answer = await get(`/admin/people/${profileId}/sign-in-methods`);
    expect(answer.statusCode).toBe(200);
    const { methods, directLinks } = answer.json();
    expect(methods.map((method: { type: string }) => method.type).sort()).toEqual(['key', 'wallet']);
    expect(directLinks).toEqual([expect.objectContaining({ privacyMode: 'partial' })]);
    const ids = methods.map((method: { accountId: string }) => method.accountId);
    expect(ids).toContain(directLinks[0].fromAccountId);
    expect(ids).toContain(directLinks[0].toAccountId);
    expect(answer.body.toLowerCase()).not.toContain(wallet.address.toLowerCase());
    expect(answer.body).not.toContain(pair.publicKey);

    const trail = (await get(`/admin/audit?target=person:${profileId}&action=person.lookup`)).json().entries;
    expect(trail[0]).toMatchObject({ actor: `admin-token:${moderator.id}`, detail: { view: 'sign-in-methods' } });
    expect((await get('/admin/people/6d1f8b2e-0a4c-4f67-9b1e-2c3d4e5f6a7b/sign-in-methods')).json().code).toBe('PERSON_NOT_FOUND');
  });
});

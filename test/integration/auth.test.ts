import { parseOptions } from '@node-rs/argon2';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailBox, normalizeEmail } from '../../src/crypto/email-box.js';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, GOOD_PASSWORD, newPerson, passwordHashings, sameSecrets } from '../support/browser.js';
import { territoryDb } from '../support/territory-db.js';

let test: TestApp;
beforeAll(async () => {
  // Limits high enough that this file's many sign-ins from one address never meet them.
  test = await startTestApp({ env: { LOGIN_ATTEMPTS_PER_CLIENT: '10000', LOGIN_ATTEMPTS_PER_ACCOUNT: '1000' } });
});
afterAll(() => test.close());

const db = () => test.database.db;
const errorBody = (code: string) => ({ code, message: expect.any(String), correlationId: expect.any(String) });

async function registered(tag = 'reg') {
  const browser = new Browser(test.app);
  const person = newPerson(tag);
  const response = await browser.register(person);
  expect(response.statusCode, response.body).toBe(201);
  return { browser, person, body: response.json() as { personaId: string; displayName: string } };
}

async function accountOf(email: string) {
  const lookupKey = new EmailBox(test.config.secrets.emailKeys, new TokenHasher(test.config.secrets.tokenHashKey)).lookupKey(
    normalizeEmail(email),
  );
  return db().selectFrom('accounts').selectAll().where('type', '=', 'email').where('lookup_key', '=', lookupKey).executeTakeFirst();
}

describe('POST /auth/register', () => {
  it('creates account, sealed email, password, profile (LOW), persona (NEW, initial), access and a session in one go', async () => {
    const lastSeq = (await db().selectFrom('outbox').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst())?.seq ?? '0';
    const { browser, person, body } = await registered();
    expect(Object.keys(body).sort()).toEqual(['correlationId', 'displayName', 'personaId']);
    expect(body.displayName).toBe(person.initialDisplayName);

    const account = await accountOf(person.email);
    expect(account).toBeDefined();
    const profile = await db().selectFrom('accountability_profiles').selectAll().where('id', '=', account!.accountability_profile_id).executeTakeFirstOrThrow();
    expect(profile).toMatchObject({ risk_level: 'LOW', abuse_score: 0, is_verified: false, banned_at: null });
    const persona = await db().selectFrom('personas').selectAll().where('id', '=', body.personaId).executeTakeFirstOrThrow();
    expect(persona).toMatchObject({ accountability_profile_id: profile.id, trust_level: 'NEW', origin: 'initial', is_active: true });
    expect(await db().selectFrom('persona_access').selectAll().where('account_id', '=', account!.id).execute()).toEqual([
      { account_id: account!.id, persona_id: body.personaId },
    ]);
    const email = await territoryDb(db()).selectFrom('account_emails').selectAll().where('account_id', '=', account!.id).executeTakeFirstOrThrow();
    const box = new EmailBox(test.config.secrets.emailKeys, new TokenHasher(test.config.secrets.tokenHashKey));
    expect(email.key_id).toBe('k1');
    expect(box.open(account!.id, { keyId: email.key_id, sealed: Buffer.from(email.sealed) })).toBe(person.email);
    const credential = await territoryDb(db()).selectFrom('password_credentials').selectAll().where('account_id', '=', account!.id).executeTakeFirstOrThrow();
    expect(credential.hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const sessions = await db().selectFrom('sessions').selectAll().where('account_id', '=', account!.id).execute();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ active_persona_id: body.personaId, idle_timeout_seconds: test.config.sessions.idleSeconds });

    const events = await db().selectFrom('outbox').select(['type', 'payload']).where('seq', '>', lastSeq).orderBy('seq').execute();
    expect(events.map((event) => event.type)).toEqual(['AccountRegistered', 'PersonaCreated']);
    expect(events[0]?.payload).toEqual({ accountId: account!.id, accountabilityProfileId: profile.id, accountType: 'email' });
    expect(events[1]?.payload).toEqual({ personaId: body.personaId, accountabilityProfileId: profile.id, trustLevel: 'NEW' });

    expect(await browser.session()).toMatchObject({
      started: true,
      anonymous: false,
      banned: false,
      persona: { id: body.personaId, displayName: person.initialDisplayName, trustLevel: 'NEW', verified: false },
    });
  });

  it('sets the session cookie: signed, HttpOnly, Secure, SameSite=Lax, Path=/, no Domain, Max-Age = the absolute timeout', async () => {
    const response = await new Browser(test.app).register(newPerson());
    const header = ([] as string[]).concat(response.headers['set-cookie'] ?? []).find((line) => line.startsWith('__Host-session='));
    expect(header).toBeDefined();
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/', `Max-Age=${test.config.sessions.absoluteSeconds}`]) {
      expect(header).toContain(attribute);
    }
    expect(header).not.toMatch(/Domain=/i);
    expect(header).toMatch(/^__Host-session=[A-Za-z0-9_-]{43}\.[^;]+;/); // token.signature
  });

  it('refuses a second registration of the same address, however it is written, with EMAIL_UNAVAILABLE', async () => {
    const { person } = await registered();
    const again = await new Browser(test.app).register({ ...newPerson(), email: `  ${person.email.toUpperCase()} ` });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual(errorBody('EMAIL_UNAVAILABLE'));
  });

  it('makes exactly one account of twenty parallel registrations of one address; the others get EMAIL_UNAVAILABLE', async () => {
    const email = newPerson('race').email;
    const count = async (table: 'accounts' | 'accountability_profiles' | 'personas') => (await db().selectFrom(table).select('id').execute()).length;
    const before = await Promise.all([count('accounts'), count('accountability_profiles'), count('personas')]);
    const responses = await Promise.all(Array.from({ length: 20 }, () => new Browser(test.app).register({ ...newPerson('race'), email })));
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
    const losers = responses.filter((r) => r.statusCode !== 201);
    expect(losers.map((r) => r.statusCode)).toEqual(Array(19).fill(409));
    for (const loser of losers) expect(loser.json().code).toBe('EMAIL_UNAVAILABLE');
    // The losers' transactions left nothing behind: one more of each.
    expect(await Promise.all([count('accounts'), count('accountability_profiles'), count('personas')])).toEqual(before.map((n) => n + 1));
    expect(await accountOf(email)).toBeDefined();
  });

  it('refuses a display name a live persona has (in any case or look-alike), and one held for its last owner', async () => {
    const { person } = await registered();
    const taken = await new Browser(test.app).register({ ...newPerson(), initialDisplayName: ` ${person.initialDisplayName.toUpperCase()} ` });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toEqual(errorBody('DISPLAY_NAME_TAKEN'));

    const { body } = await registered();
    const holder = await db().selectFrom('personas').select('accountability_profile_id').where('id', '=', body.personaId).executeTakeFirstOrThrow();
    await db()
      .insertInto('display_name_holds')
      .values({ display_name_key: 'released name', accountability_profile_id: holder.accountability_profile_id, held_until: sql<Date>`now() + interval '30 days'` })
      .execute();
    const before = await db().selectFrom('accounts').select('id').execute();
    const held = await new Browser(test.app).register({ ...newPerson(), initialDisplayName: 'Released  Name' });
    expect(held.statusCode).toBe(409);
    expect(held.json().code).toBe('DISPLAY_NAME_TAKEN');
    expect(await db().selectFrom('accounts').select('id').execute()).toHaveLength(before.length);
  });

  it.each([
    ['too short', 'short pass', 'shorter than 15 characters'],
    ['common', 'passwordpassword', 'commonly used password'],
    ['repetitive', 'abcabcabcabcabcabc', 'repeats the same few characters'],
    ['sequential', 'qwertyuiop1234567', 'simple sequence'],
  ])('refuses a %s password with WEAK_PASSWORD and the reason, creating nothing', async (_kind, password, reason) => {
    const before = await db().selectFrom('accounts').select('id').execute();
    const response = await new Browser(test.app).register({ ...newPerson(), password });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(errorBody('WEAK_PASSWORD'));
    expect(response.json().message).toContain(reason);
    expect(await db().selectFrom('accounts').select('id').execute()).toHaveLength(before.length);
  });

  it('refuses a password containing the address\'s name part', async () => {
    const person = newPerson('marguerite');
    const local = person.email.split('@')[0] ?? '';
    const response = await new Browser(test.app).register({ ...person, password: `my secret is ${local} forever` });
    expect(response.json().message).toContain('contains the name part of your email address');
  });

  it.each([
    ['no email', { password: GOOD_PASSWORD, initialDisplayName: 'A' }],
    ['not an email', { email: 'not-an-address', password: GOOD_PASSWORD, initialDisplayName: 'A' }],
    ['an unknown field', { ...newPerson(), admin: true }],
    ['a number for the password', { email: 'a@example.org', password: 123456789012345678, initialDisplayName: 'A' }],
    ['an over-long password', { email: 'a@example.org', password: 'x'.repeat(1025), initialDisplayName: 'A' }],
    ['a blank display name', { email: 'a@example.org', password: GOOD_PASSWORD, initialDisplayName: '   ' }],
    ['a control character in the name', { email: 'a@example.org', password: GOOD_PASSWORD, initialDisplayName: 'Bad\u202eName' }],
  ])('refuses %s with VALIDATION_FAILED', async (_kind, payload) => {
    const response = await new Browser(test.app).request('POST', '/auth/register', payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(errorBody('VALIDATION_FAILED'));
  });

  it('caps the body at 8 KiB (413), below the service-wide limit', async () => {
    const response = await new Browser(test.app).request('POST', '/auth/register', { ...newPerson(), initialDisplayName: 'x'.repeat(9000) });
    expect(response.statusCode).toBe(413);
    expect(response.json().code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('POST /auth/login', () => {
  it('signs in by the email\'s keyed hash, answering the persona, and sets a new session cookie', async () => {
    const { person, body } = await registered();
    const browser = new Browser(test.app);
    const response = await browser.login({ email: ` ${person.email.toUpperCase()}`, password: person.password });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ personaId: body.personaId, displayName: person.initialDisplayName, correlationId: response.headers['x-correlation-id'] });
    expect(browser.sessionCookie).toBeDefined();
    expect((await browser.session()).persona).toMatchObject({ id: body.personaId });
    const account = await accountOf(person.email);
    const signedIn = await db().selectFrom('outbox').select('payload').where('type', '=', 'AccountSignedIn').execute();
    expect(signedIn.map((event) => event.payload)).toContainEqual({ accountId: account!.id, accountabilityProfileId: account!.accountability_profile_id });
  });

  it('answers an unknown address and a wrong password identically: status, body shape, message; both run argon2', async () => {
    const { person } = await registered();
    const browser = new Browser(test.app);
    await browser.request('GET', '/session'); // the anon_id cookie is issued now, not on one of the two below
    const before = await passwordHashings(test.app);
    const unknown = await browser.login({ email: `nobody-${Date.now()}@example.org`, password: person.password });
    const afterUnknown = await passwordHashings(test.app);
    const wrong = await browser.login({ email: person.email, password: `${person.password}!` });
    const afterWrong = await passwordHashings(test.app);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.statusCode).toBe(401);
    const strip = (response: typeof unknown) => ({ ...response.json(), correlationId: 'x' });
    expect(strip(unknown)).toEqual(strip(wrong));
    expect(strip(unknown)).toEqual({ code: 'INVALID_CREDENTIALS', message: expect.any(String), correlationId: 'x' });
    expect(Object.keys(unknown.headers).sort()).toEqual(Object.keys(wrong.headers).sort());
    expect([afterUnknown - before, afterWrong - afterUnknown]).toEqual([1, 1]);
    expect(browser.sessionCookie).toBeUndefined();
  });

  it('takes as long for an unknown address as for a wrong password (medians within tolerance)', async () => {
    const { person } = await registered();
    const browser = new Browser(test.app);
    const time = async (credentials: { email: string; password: string }) => {
      const started = performance.now();
      expect((await browser.login(credentials)).statusCode).toBe(401);
      return performance.now() - started;
    };
    const [unknown, wrong]: [number[], number[]] = [[], []];
    await time({ email: person.email, password: 'warm up the path 123' });
    for (let i = 0; i < 9; i++) {
      unknown.push(await time({ email: `nobody-${i}-${Date.now()}@example.org`, password: 'some guess or other' }));
      wrong.push(await time({ email: person.email, password: 'some guess or other' }));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const [a, b] = [median(unknown), median(wrong)];
    // argon2id dominates both (tens of milliseconds); a skipped hash would make one side several times faster.
    expect(Math.max(a, b) / Math.min(a, b)).toBeLessThan(2);
  });

  it('chooses the persona the account used most recently, else the newest live one, else null', async () => {
    const { person, body } = await registered();
    const account = await accountOf(person.email);
    const profileId = account!.accountability_profile_id;
    const second = await db()
      .insertInto('personas')
      .values({ accountability_profile_id: profileId, display_name: `Second ${Date.now()}`, display_name_key: `second ${Date.now()}`, author_id: `t.${Date.now()}`, origin: 'created' })
      .returning(['id', 'display_name'])
      .executeTakeFirstOrThrow();
    await db().insertInto('persona_access').values({ account_id: account!.id, persona_id: second.id }).execute();
    // The registration's session used the first persona just now: it wins over the newer one.
    expect((await new Browser(test.app).login(person)).json().personaId).toBe(body.personaId);
    // No session has used any persona: the newest live one.
    await db().deleteFrom('sessions').where('account_id', '=', account!.id).execute();
    expect((await new Browser(test.app).login(person)).json()).toMatchObject({ personaId: second.id, displayName: second.display_name });
    // None live: null, and the session acts as no persona until one is created.
    await db().updateTable('personas').set({ is_active: false }).where('accountability_profile_id', '=', profileId).execute();
    const browser = new Browser(test.app);
    expect((await browser.login(person)).json()).toMatchObject({ personaId: null, displayName: null });
    expect(await browser.session()).toMatchObject({ started: true, anonymous: false, persona: null });
  });

  it('upgrades a hash below the current policy at login, once, and the old node still verifies it', async () => {
    const { person } = await registered();
    const account = await accountOf(person.email);
    const hashOf = async () => (await territoryDb(db()).selectFrom('password_credentials').selectAll().where('account_id', '=', account!.id).executeTakeFirstOrThrow());
    const floor = await hashOf();
    const stronger = await startTestApp({ database: test.database, env: { ...sameSecrets(test.config), PASSWORD_MEMORY_KIB: '24576', PASSWORD_TIME_COST: '3' } });
    try {
      expect((await new Browser(stronger.app).login(person)).statusCode).toBe(200);
      const upgraded = await hashOf();
      expect(parseOptions(upgraded.hash)).toMatchObject({ memoryCost: 24_576, timeCost: 3 });
      expect(upgraded.updated_at.getTime()).toBeGreaterThanOrEqual(floor.updated_at.getTime());
      expect((await new Browser(stronger.app).login(person)).statusCode).toBe(200);
      expect((await hashOf()).hash).toBe(upgraded.hash); // already at policy: not rehashed again
    } finally {
      await stronger.close();
    }
    expect((await new Browser(test.app).login(person)).statusCode).toBe(200);
  });
});

describe('POST /auth/logout', () => {
  it('ends the session on the server: the old cookie replayed is a guest again, and the cookie is cleared', async () => {
    const { browser } = await registered();
    const cookie = browser.sessionCookie as string;
    const response = await browser.request('POST', '/auth/logout');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ signedOut: true, correlationId: response.headers['x-correlation-id'] });
    expect(String(response.headers['set-cookie'])).toMatch(/__Host-session=; Max-Age=0/);
    expect(browser.sessionCookie).toBeUndefined();
    expect((await browser.session()).anonymous).toBe(true);

    const replay = await test.app.inject({ method: 'GET', url: '/session', headers: { cookie: `__Host-session=${cookie}` } });
    expect(replay.json()).toMatchObject({ started: false, anonymous: true });
    expect(String(replay.headers['set-cookie'])).toContain('__Host-session=; Max-Age=0');
    const replayedLogout = await test.app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: `__Host-session=${cookie}` } });
    expect(replayedLogout.json().signedOut).toBe(false);
  });

  it('answers signedOut: false without a session', async () => {
    const response = await new Browser(test.app).request('POST', '/auth/logout');
    expect(response.statusCode).toBe(200);
    expect(response.json().signedOut).toBe(false);
  });
});

describe('privacy', () => {
  it('stores no email or password in the clear anywhere, and logs and events carry neither', async () => {
    const person = { ...newPerson('zebulon'), password: 'a very particular passphrase 7731' };
    const browser = new Browser(test.app);
    expect((await browser.register(person)).statusCode).toBe(201);
    expect((await browser.login(person)).statusCode).toBe(200);
    expect((await browser.login({ ...person, password: 'a wrong passphrase entirely' })).statusCode).toBe(401);

    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db());
    const dump: string[] = [];
    for (const { table_name: table } of tables.rows) {
      const rows = await sql<{ row: string }>`select row_to_json(t)::text as row from ${sql.table(table)} t`.execute(db());
      dump.push(...rows.rows.map((row) => `${table}: ${row.row}`));
    }
    const local = person.email.split('@')[0] as string;
    const needles = [person.email, local, person.password, Buffer.from(local).toString('hex'), Buffer.from(person.password).toString('hex')];
    for (const needle of needles) {
      expect(dump.filter((line) => line.toLowerCase().includes(needle.toLowerCase())), needle).toEqual([]);
      expect(test.logs.filter((line) => line.includes(needle)), needle).toEqual([]);
    }
  });
});

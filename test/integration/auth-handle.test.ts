import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, GOOD_PASSWORD, newPerson, passwordHashings } from '../support/browser.js';
import { territoryDb } from '../support/territory-db.js';

let test: TestApp;
beforeAll(async () => {
  // Limits high enough that this file's many sign-ins from one address never meet them.
  test = await startTestApp({ env: { LOGIN_ATTEMPTS_PER_CLIENT: '10000', LOGIN_ATTEMPTS_PER_ACCOUNT: '1000' } });
});
afterAll(() => test.close());

const db = () => test.database.db;
const hasher = () => new TokenHasher(test.config.secrets.tokenHashKey);

let counter = 0;
/** A fresh handle per call: letters only after a fixed prefix, so no two share a look-alike skeleton. */
function newHandle(tag = 'h'): string {
  counter++;
  const letters = `${process.pid}${Date.now()}${counter}`.replace(/\d/g, (digit) => 'abcdefghjk'[Number(digit)]!);
  return `${tag}_${letters}`.slice(0, 50);
}

/** A person with a handle and no email. */
function handlePerson(tag = 'h') {
  const { email: _email, ...person } = newPerson(tag);
  return { ...person, handle: newHandle(tag) };
}

async function registeredByHandle(tag = 'h') {
  const browser = new Browser(test.app);
  const person = handlePerson(tag);
  const response = await browser.request('POST', '/auth/register', person);
  expect(response.statusCode, response.body).toBe(201);
  return { browser, person, body: response.json() as { personaId: string; displayName: string; handle: string; recoveryCodes: string[] } };
}

async function handleAccount(handle: string) {
  return db()
    .selectFrom('accounts')
    .selectAll()
    .where('type', '=', 'handle')
    .where('lookup_key', '=', hasher().hash('account', `handle:${handle}`))
    .executeTakeFirst();
}

const counts = async () => {
  const count = async (table: 'accounts' | 'personas' | 'accountability_profiles' | 'user_identities') =>
    Number((await db().selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
  const codes = await sql<{ n: string }>`select count(*) as n from territory_main.recovery_codes`.execute(db());
  return {
    accounts: await count('accounts'),
    personas: await count('personas'),
    profiles: await count('accountability_profiles'),
    handles: await count('user_identities'),
    passwords: Number((await territoryDb(db()).selectFrom('password_credentials').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n),
    codes: Number(codes.rows[0]!.n),
  };
};

describe('POST /auth/register with a handle', () => {
  it('handle only: a handle account, its password, the handle on the first persona, and 10 recovery codes shown once', async () => {
    const lastSeq = (await db().selectFrom('outbox').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst())?.seq ?? '0';
    const { browser, person, body } = await registeredByHandle();
    expect(Object.keys(body).sort()).toEqual(['correlationId', 'displayName', 'handle', 'personaId', 'recoveryCodes']);
    expect(body.handle).toBe(person.handle);
    expect(body.recoveryCodes).toHaveLength(10);
    expect(new Set(body.recoveryCodes).size).toBe(10);
    for (const code of body.recoveryCodes) expect(code).toMatch(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);

    const account = await handleAccount(person.handle);
    expect(account).toBeDefined();
    expect(await territoryDb(db()).selectFrom('account_emails').selectAll().where('account_id', '=', account!.id).execute()).toEqual([]);
    expect(await territoryDb(db()).selectFrom('account_identifiers').select('account_id').where('account_id', '=', account!.id).execute()).toHaveLength(1);
    const credential = await territoryDb(db()).selectFrom('password_credentials').selectAll().where('account_id', '=', account!.id).executeTakeFirstOrThrow();
    expect(credential.hash).toMatch(/^\$argon2id\$/);
    const identity = await db().selectFrom('user_identities').selectAll().where('handle', '=', person.handle).executeTakeFirstOrThrow();
    expect(identity.persona_id).toBe(body.personaId);
    expect((await test.app.inject({ method: 'GET', url: `/handles/${person.handle}` })).json().status).toBe('taken');
    expect(await browser.session()).toMatchObject({ started: true, anonymous: false, persona: { id: body.personaId } });

    // The codes live only as keyed hashes, bound to the account, in the person's territory.
    const stored = await sql<{ code_hash: Buffer; used_at: Date | null }>`
      select code_hash, used_at from territory_main.recovery_codes where account_id = ${account!.id}`.execute(db());
    expect(stored.rows).toHaveLength(10);
    const expected = body.recoveryCodes.map((code) => hasher().hash('challenge', `recovery-code:${account!.id}:${code}`).toString('hex')).sort();
    expect(stored.rows.map((row) => Buffer.from(row.code_hash).toString('hex')).sort()).toEqual(expected);
    expect(stored.rows.every((row) => row.used_at === null)).toBe(true);

    const events = await db().selectFrom('outbox').select(['type', 'payload']).where('seq', '>', lastSeq).orderBy('seq').execute();
    expect(events.find((event) => event.type === 'AccountRegistered')?.payload).toMatchObject({ accountId: account!.id, accountType: 'handle' });
    expect(events.find((event) => event.type === 'HandleClaimed')?.payload).toMatchObject({ handle: person.handle, personaId: body.personaId });
    const audit = await db().selectFrom('audit_log').selectAll().where('action', '=', 'handle.claim').where('target', '=', body.personaId).execute();
    expect(audit).toHaveLength(1);
  });

  it('no code, in any encoding, in any column of the territory schema', async () => {
    const { body } = await registeredByHandle('scan');
    const cells = await sql<{ text: string }>`
      select concat_ws(' ', account_id::text, encode(code_hash, 'hex'), encode(code_hash, 'base64'), encode(code_hash, 'escape'), created_at::text, used_at::text) as text
      from territory_main.recovery_codes`.execute(db());
    expect(cells.rows.length).toBeGreaterThanOrEqual(10);
    const text = cells.rows.map((row) => row.text).join('\n').toLowerCase();
    for (const code of body.recoveryCodes) {
      for (const needle of [code, code.replaceAll('-', ''), Buffer.from(code).toString('hex'), Buffer.from(code).toString('base64')]) {
        expect(text.includes(needle.toLowerCase()), needle).toBe(false);
      }
    }
  });

  it('email and handle: an email account (spec 002), its persona holding the handle, no recovery codes', async () => {
    const browser = new Browser(test.app);
    const person = { ...newPerson('both'), handle: newHandle('both') };
    const response = await browser.request('POST', '/auth/register', person);
    expect(response.statusCode, response.body).toBe(201);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['correlationId', 'displayName', 'handle', 'personaId']);
    expect(await handleAccount(person.handle)).toBeUndefined();
    const identity = await db().selectFrom('user_identities').select('persona_id').where('handle', '=', person.handle).executeTakeFirstOrThrow();
    expect(identity.persona_id).toBe(body.personaId);
    // Both sign the same account in: the handle is the person's username too (spec 004).
    for (const credentials of [{ email: person.email, password: person.password }, { handle: person.handle.toUpperCase(), password: person.password }]) {
      const login = await new Browser(test.app).request('POST', '/auth/login', credentials);
      expect(login.statusCode, login.body).toBe(200);
      expect(login.json().personaId).toBe(body.personaId);
    }
  });

  it('email only still answers exactly the spec 002 contract', async () => {
    const response = await new Browser(test.app).register(newPerson('plain'));
    expect(response.statusCode, response.body).toBe(201);
    expect(Object.keys(response.json()).sort()).toEqual(['correlationId', 'displayName', 'personaId']);
  });

  it('refuses invalid, reserved and taken handles, and neither email nor handle, creating nothing', async () => {
    const { person: holder } = await registeredByHandle('holder');
    const before = await counts();
    const attempt = (payload: object) => new Browser(test.app).request('POST', '/auth/register', payload);
    const cases: Array<[object, number, string]> = [
      [{ ...handlePerson(), handle: 'x' }, 400, 'HANDLE_INVALID'],
      [{ ...handlePerson(), handle: 'no spaces' }, 400, 'HANDLE_INVALID'],
      [{ ...handlePerson(), handle: '4dm1n' }, 409, 'HANDLE_RESERVED'],
      [{ ...handlePerson(), handle: 'main' }, 409, 'HANDLE_RESERVED'],
      [{ ...handlePerson(), handle: holder.handle }, 409, 'HANDLE_TAKEN'],
      [{ ...handlePerson(), handle: holder.handle.toUpperCase() }, 409, 'HANDLE_TAKEN'],
      // A look-alike of a taken handle (its skeleton) is taken too.
      [{ ...handlePerson(), handle: holder.handle.replace('h_', 'h__') }, 409, 'HANDLE_TAKEN'],
      [{ ...newPerson('both'), handle: holder.handle }, 409, 'HANDLE_TAKEN'],
      [{ password: GOOD_PASSWORD, initialDisplayName: 'Nobody Here' }, 400, 'VALIDATION_FAILED'],
      [{ ...handlePerson(), password: 'short' }, 400, 'WEAK_PASSWORD'],
    ];
    for (const [payload, status, code] of cases) {
      const response = await attempt(payload);
      expect([response.statusCode, response.json().code], JSON.stringify(payload)).toEqual([status, code]);
      expect(response.cookies.find((cookie) => cookie.name === '__Host-session')).toBeUndefined();
    }
    // The password may not contain the handle either.
    const named = handlePerson();
    const weak = await attempt({ ...named, password: `${named.handle} is my secret phrase` });
    expect(weak.json().code).toBe('WEAK_PASSWORD');
    expect(await counts()).toEqual(before);
    // The email of the refused "both" registration was not taken by it.
    const both = { ...newPerson('both'), handle: holder.handle };
    expect((await attempt(both)).json().code).toBe('HANDLE_TAKEN');
    expect((await attempt({ ...both, handle: newHandle('free') })).statusCode).toBe(201);
  });
});

describe('handle registration under concurrency', () => {
  it('of 10 parallel registrations of one handle exactly one wins; the others create nothing', async () => {
    const handle = newHandle('race');
    const before = await counts();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => new Browser(test.app).request('POST', '/auth/register', { ...handlePerson('race'), handle })),
    );
    expect(responses.filter((response) => response.statusCode === 201)).toHaveLength(1);
    for (const loser of responses.filter((response) => response.statusCode !== 201)) expect(loser.json().code).toBe('HANDLE_TAKEN');
    const after = await counts();
    expect(after).toEqual({
      accounts: before.accounts + 1,
      personas: before.personas + 1,
      profiles: before.profiles + 1,
      handles: before.handles + 1,
      passwords: before.passwords + 1,
      codes: before.codes + 10,
    });
  }, 60_000);
});

describe('PUT /api/v2/auth/password for a handle account', () => {
  it('sets the password of the handle account the session signed in with; the policy keeps the handle out', async () => {
    const { browser, person } = await registeredByHandle('pw');
    const other = new Browser(test.app);
    expect((await other.request('POST', '/auth/login', { handle: person.handle, password: person.password })).statusCode).toBe(200);
    expect((await browser.request('PUT', '/api/v2/auth/password', { newPassword: `${person.handle} and more words` })).json().code).toBe('WEAK_PASSWORD');
    const changed = await browser.request('PUT', '/api/v2/auth/password', { newPassword: 'cobalt heron wades the evening marsh' });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({ passwordSet: true, otherSessionsEnded: 1 });
    expect((await new Browser(test.app).request('POST', '/auth/login', { handle: person.handle, password: person.password })).statusCode).toBe(401);
    expect((await new Browser(test.app).request('POST', '/auth/login', { handle: person.handle, password: 'cobalt heron wades the evening marsh' })).statusCode).toBe(200);
  });
});

describe('POST /auth/login with a handle', () => {
  it('signs in by handle (case folded); exactly one of email and handle', async () => {
    const { person, body } = await registeredByHandle('login');
    const browser = new Browser(test.app);
    const response = await browser.request('POST', '/auth/login', { handle: ` ${person.handle.toUpperCase()} `, password: person.password });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ personaId: body.personaId, displayName: body.displayName });
    expect(await browser.session()).toMatchObject({ anonymous: false, persona: { id: body.personaId } });
    const both = await new Browser(test.app).request('POST', '/auth/login', { handle: person.handle, email: 'x@example.org', password: person.password });
    expect(both.json().code).toBe('VALIDATION_FAILED');
    expect((await new Browser(test.app).request('POST', '/auth/login', { password: person.password })).json().code).toBe('VALIDATION_FAILED');
  });

  it('answers an unknown handle and a wrong password identically: status, body, headers; both run argon2', async () => {
    const { person } = await registeredByHandle('same');
    const browser = new Browser(test.app);
    await browser.request('GET', '/session');
    const before = await passwordHashings(test.app);
    const unknown = await browser.request('POST', '/auth/login', { handle: newHandle('nobody'), password: person.password });
    const afterUnknown = await passwordHashings(test.app);
    const wrong = await browser.request('POST', '/auth/login', { handle: person.handle, password: `${person.password}!` });
    const afterWrong = await passwordHashings(test.app);
    expect([unknown.statusCode, wrong.statusCode]).toEqual([401, 401]);
    const strip = (response: typeof unknown) => ({ ...response.json(), correlationId: 'x' });
    expect(strip(unknown)).toEqual(strip(wrong));
    expect(strip(unknown)).toEqual({ code: 'INVALID_CREDENTIALS', message: expect.any(String), correlationId: 'x' });
    expect(Object.keys(unknown.headers).sort()).toEqual(Object.keys(wrong.headers).sort());
    expect([afterUnknown - before, afterWrong - afterUnknown]).toEqual([1, 1]);
    expect(browser.sessionCookie).toBeUndefined();
  });

  it('takes as long for an unknown handle as for a wrong password (medians within tolerance)', async () => {
    const { person } = await registeredByHandle('timing');
    const browser = new Browser(test.app);
    const time = async (credentials: { handle: string; password: string }) => {
      const started = performance.now();
      expect((await browser.request('POST', '/auth/login', credentials)).statusCode).toBe(401);
      return performance.now() - started;
    };
    const [unknown, wrong]: [number[], number[]] = [[], []];
    await time({ handle: person.handle, password: 'warm up the path 123' });
    for (let i = 0; i < 9; i++) {
      unknown.push(await time({ handle: newHandle('nobody'), password: 'some guess or other' }));
      wrong.push(await time({ handle: person.handle, password: 'some guess or other' }));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const [a, b] = [median(unknown), median(wrong)];
    expect(Math.max(a, b) / Math.min(a, b)).toBeLessThan(2);
  });

  it('is limited per handle like login by email (429 TOO_MANY_ATTEMPTS)', async () => {
    const limited = await startTestApp({ env: { LOGIN_ATTEMPTS_PER_ACCOUNT: '3', LOGIN_ATTEMPTS_PER_CLIENT: '1000' }, database: test.database });
    try {
      const person = handlePerson('limit');
      expect((await new Browser(limited.app).request('POST', '/auth/register', person)).statusCode).toBe(201);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await new Browser(limited.app).request('POST', '/auth/login', { handle: person.handle, password: 'wrong guess number one' })).statusCode);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
      // Recovery draws on the same budget.
      const recover = await new Browser(limited.app).request('POST', '/auth/recover', { handle: person.handle, recoveryCode: 'aaaa-aaaa-aaaa', newPassword: GOOD_PASSWORD });
      expect(recover.json().code).toBe('TOO_MANY_ATTEMPTS');
    } finally {
      await limited.close();
    }
  });
});

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, GOOD_PASSWORD, newPerson } from '../support/browser.js';
import { newKeyPair, signKeyChallenge, type TestKeyPair } from '../support/key-signer.js';

let test: TestApp;
beforeAll(async () => {
  // Limits high enough that the parallel race below is decided by the code, not by the throttle.
  test = await startTestApp({ env: { LOGIN_ATTEMPTS_PER_CLIENT: '10000', LOGIN_ATTEMPTS_PER_ACCOUNT: '1000' } });
});
afterAll(() => test.close());

const db = () => test.database.db;
const NEW_PASSWORD = 'amber lantern drifts past the northern pier';

let counter = 0;
function newHandle(tag: string): string {
  counter++;
  const letters = `${process.pid}${Date.now()}${counter}`.replace(/\d/g, (digit) => 'abcdefghjk'[Number(digit)]!);
  return `${tag}_${letters}`.slice(0, 50);
}

async function registered(tag = 'rc') {
  const browser = new Browser(test.app);
  const { email: _email, ...rest } = newPerson(tag);
  const person = { ...rest, handle: newHandle(tag) };
  const response = await browser.request('POST', '/auth/register', person);
  expect(response.statusCode, response.body).toBe(201);
  const body = response.json() as { personaId: string; recoveryCodes: string[] };
  const account = await db()
    .selectFrom('accounts')
    .select(['id', 'accountability_profile_id as profileId'])
    .where('type', '=', 'handle')
    .where('lookup_key', '=', new TokenHasher(test.config.secrets.tokenHashKey).hash('account', `handle:${person.handle}`))
    .executeTakeFirstOrThrow();
  return { browser, person, personaId: body.personaId, codes: body.recoveryCodes, account };
}

const recover = (browser: Browser, handle: string, recoveryCode: string, newPassword = NEW_PASSWORD) =>
  browser.request('POST', '/auth/recover', { handle, recoveryCode, newPassword });
const login = (handle: string, password: string) => new Browser(test.app).request('POST', '/auth/login', { handle, password });
const ageSessions = () => db().updateTable('sessions').set({ authenticated_at: sql<Date>`now() - interval '1 hour'` }).execute();

describe('POST /auth/recover', () => {
  it('spends one code: new password, every other session ended, signed in; the code never works again', async () => {
    const { browser: laptop, person, personaId, codes, account } = await registered();
    const phone = new Browser(test.app);
    expect((await phone.request('POST', '/auth/login', { handle: person.handle, password: person.password })).statusCode).toBe(200);
    const lastSeq = (await db().selectFrom('outbox').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst())?.seq ?? '0';

    const browser = new Browser(test.app);
    // Typed back loosely: upper case, spaces for dashes.
    const response = await recover(browser, person.handle.toUpperCase(), codes[0]!.toUpperCase().replaceAll('-', ' '));
    expect(response.statusCode, response.body).toBe(200);
    expect(Object.keys(response.json()).sort()).toEqual(['correlationId', 'displayName', 'personaId']);
    expect(response.json().personaId).toBe(personaId);
    expect(await browser.session()).toMatchObject({ anonymous: false, persona: { id: personaId } });
    for (const other of [laptop, phone]) expect((await other.session()).anonymous).not.toBe(false);

    expect((await login(person.handle, person.password)).statusCode).toBe(401);
    expect((await login(person.handle, NEW_PASSWORD)).statusCode).toBe(200);
    const again = await recover(new Browser(test.app), person.handle, codes[0]!, `${NEW_PASSWORD} again`);
    expect([again.statusCode, again.json().code]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect((await login(person.handle, NEW_PASSWORD)).statusCode).toBe(200);

    const events = await db().selectFrom('outbox').select(['type', 'payload']).where('seq', '>', lastSeq).orderBy('seq').execute();
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['RecoveryCodeUsed', 'PasswordChanged']));
    expect(events.find((event) => event.type === 'RecoveryCodeUsed')?.payload).toMatchObject({ accountId: account.id, accountabilityProfileId: account.profileId });
    expect(await db().selectFrom('audit_log').select('action').where('action', '=', 'account.recover').where('target', '=', account.id).execute()).toHaveLength(1);
    const used = await sql<{ n: string }>`select count(*) as n from territory_main.recovery_codes where account_id = ${account.id} and used_at is not null`.execute(db());
    expect(Number(used.rows[0]!.n)).toBe(1);
    // The session a code made is not a fresh sign-in for sensitive changes.
    expect((await browser.request('POST', '/api/v2/auth/recovery-codes')).json().code).toBe('STEP_UP_REQUIRED');
    expect((await browser.request('GET', '/api/v2/auth/recovery-codes')).json().remaining).toBe(9);
  });

  it('answers an unknown handle, a wrong code, a malformed code and another account\'s code identically, changing nothing', async () => {
    const { person, codes } = await registered();
    const { codes: othersCodes } = await registered('other');
    const responses = [
      await recover(new Browser(test.app), newHandle('nobody'), codes[0]!),
      await recover(new Browser(test.app), person.handle, 'zzzz-zzzz-zzzz'),
      await recover(new Browser(test.app), person.handle, 'not a code'),
      await recover(new Browser(test.app), person.handle, othersCodes[0]!),
    ];
    const strip = (response: (typeof responses)[number]) => ({ status: response.statusCode, ...response.json(), correlationId: 'x' });
    for (const response of responses) expect(strip(response)).toEqual(strip(responses[0]!));
    expect(strip(responses[0]!)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS', message: expect.any(String), correlationId: 'x' });
    expect((await login(person.handle, person.password)).statusCode).toBe(200);
    // A weak new password is refused before any code is spent.
    expect((await recover(new Browser(test.app), person.handle, codes[0]!, 'password')).json().code).toBe('WEAK_PASSWORD');
    expect((await recover(new Browser(test.app), person.handle, codes[0]!)).statusCode).toBe(200);
  });

  it('of 20 parallel uses of one code exactly one wins', async () => {
    const { person, codes, account } = await registered('race');
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => recover(new Browser(test.app), person.handle, codes[3]!, `${NEW_PASSWORD} ${i}`)),
    );
    const winners = responses.filter((response) => response.statusCode === 200);
    expect(winners).toHaveLength(1);
    for (const loser of responses.filter((response) => response.statusCode !== 200)) expect(loser.json().code).toBe('INVALID_CREDENTIALS');
    // The winner's password is the one set.
    const winner = responses.indexOf(winners[0]!);
    expect((await login(person.handle, `${NEW_PASSWORD} ${winner}`)).statusCode).toBe(200);
    const events = await db().selectFrom('outbox').select('payload').where('type', '=', 'RecoveryCodeUsed').execute();
    expect(events.filter((event) => (event.payload as { accountId: string }).accountId === account.id)).toHaveLength(1);
  }, 60_000);
});

describe('GET and POST /api/v2/auth/recovery-codes', () => {
  it('counts what is left, and regenerates only after a fresh sign-in: the old codes die', async () => {
    const { browser, person, codes } = await registered('regen');
    expect((await browser.request('GET', '/api/v2/auth/recovery-codes')).json()).toMatchObject({ remaining: 10 });
    await ageSessions();
    const stale = await browser.request('POST', '/api/v2/auth/recovery-codes');
    expect([stale.statusCode, stale.json().code]).toEqual([403, 'STEP_UP_REQUIRED']);
    expect((await browser.request('POST', '/auth/login', { handle: person.handle, password: person.password })).statusCode).toBe(200);
    const fresh = await browser.request('POST', '/api/v2/auth/recovery-codes');
    expect(fresh.statusCode, fresh.body).toBe(200);
    const renewed = fresh.json().recoveryCodes as string[];
    expect(renewed).toHaveLength(10);
    expect(renewed.filter((code) => codes.includes(code))).toEqual([]);
    expect((await browser.request('GET', '/api/v2/auth/recovery-codes')).json().remaining).toBe(10);
    expect((await recover(new Browser(test.app), person.handle, codes[1]!)).json().code).toBe('INVALID_CREDENTIALS');
    expect((await recover(new Browser(test.app), person.handle, renewed[1]!)).statusCode).toBe(200);
    const event = await db().selectFrom('outbox').select('type').where('type', '=', 'RecoveryCodesRegenerated').executeTakeFirst();
    expect(event).toBeDefined();
  });

  it('belong to handle accounts: an email account and a signed-out visitor are refused', async () => {
    const emailOnly = new Browser(test.app);
    expect((await emailOnly.register(newPerson('mail'))).statusCode).toBe(201);
    expect((await emailOnly.request('GET', '/api/v2/auth/recovery-codes')).json().code).toBe('VALIDATION_FAILED');
    expect((await emailOnly.request('POST', '/api/v2/auth/recovery-codes')).json().code).toBe('VALIDATION_FAILED');
    expect((await new Browser(test.app).request('GET', '/api/v2/auth/recovery-codes')).json().code).toBe('SESSION_REQUIRED');
  });
});

describe('a handle account in the identity graph, regained through a linked key', () => {
  async function keyProof(browser: Browser, pair: TestKeyPair, purpose: string) {
    const challenge = (await browser.request('POST', '/api/v2/auth/challenge', { strategy: 'key', publicKey: pair.publicKey, purpose })).json();
    return signKeyChallenge(challenge, pair);
  }

  it('links a key; the key signs in and sets the handle account\'s password; the graph shows the handle, no internals', async () => {
    const { browser, person, account } = await registered('keyed');
    const pair = newKeyPair();
    const { strategy: _strategy, ...proof } = await keyProof(browser, pair, 'link');
    const linked = await browser.request('POST', '/api/v2/auth/link-accounts', { targetType: 'key', privacyMode: 'linked', proof });
    expect(linked.statusCode, linked.body).toBe(200);
    const graph = linked.json() as { accounts: Array<{ ref: string; type: string; identifier: string; current: boolean }> };
    expect(graph.accounts.map((a) => a.type).sort()).toEqual(['handle', 'key']);
    expect(graph.accounts.find((a) => a.type === 'handle')).toMatchObject({ identifier: person.handle, current: true });
    expect(JSON.stringify(graph)).not.toContain(account.id);
    expect(JSON.stringify(graph)).not.toContain(account.profileId);

    // The password is forgotten, the codes lost: the key is the way back in.
    const keyBrowser = new Browser(test.app);
    const signedIn = await keyBrowser.request('POST', '/api/v2/auth/authenticate', await keyProof(keyBrowser, pair, 'sign-in'));
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    expect(signedIn.json().isNewUser).toBe(false);
    expect((await keyBrowser.request('GET', '/api/v2/auth/recovery-codes')).json().remaining).toBe(10);
    const set = await keyBrowser.request('PUT', '/api/v2/auth/password', { newPassword: NEW_PASSWORD });
    expect(set.statusCode, set.body).toBe(200);
    // The handle account's own session (on the laptop) ended; the key's did not.
    expect(set.json().otherSessionsEnded).toBe(1);
    expect((await browser.session()).anonymous).not.toBe(false);
    expect((await keyBrowser.session()).anonymous).toBe(false);
    expect((await login(person.handle, person.password)).statusCode).toBe(401);
    expect((await login(person.handle, NEW_PASSWORD)).statusCode).toBe(200);
    // The password policy holds here too: not the handle itself.
    expect((await keyBrowser.request('PUT', '/api/v2/auth/password', { newPassword: `${person.handle} forever and ever` })).json().code).toBe('WEAK_PASSWORD');

    // Unlinking: the handle account may drop the key, never itself; then it is the last method.
    const handleBrowser = new Browser(test.app);
    expect((await handleBrowser.request('POST', '/auth/login', { handle: person.handle, password: NEW_PASSWORD })).statusCode).toBe(200);
    const refs = (await handleBrowser.request('GET', '/api/v2/auth/identity-graph')).json().accounts as Array<{ ref: string; type: string }>;
    const own = refs.find((a) => a.type === 'handle')!.ref;
    expect((await handleBrowser.request('DELETE', `/api/v2/auth/accounts/${own}`)).json().code).toBe('VALIDATION_FAILED');
    const unlinked = await handleBrowser.request('DELETE', `/api/v2/auth/accounts/${refs.find((a) => a.type === 'key')!.ref}`);
    expect(unlinked.statusCode, unlinked.body).toBe(200);
    expect(unlinked.json().accounts.map((a: { type: string }) => a.type)).toEqual(['handle']);
  });

  it('a key linked to an email account sets no password: the email account keeps its own way (PUT by its own session)', async () => {
    const browser = new Browser(test.app);
    expect((await browser.register({ ...newPerson('nokey'), password: GOOD_PASSWORD })).statusCode).toBe(201);
    const pair = newKeyPair();
    const { strategy: _strategy, ...proof } = await keyProof(browser, pair, 'link');
    expect((await browser.request('POST', '/api/v2/auth/link-accounts', { targetType: 'key', privacyMode: 'linked', proof })).statusCode).toBe(200);
    const keyOnly = new Browser(test.app);
    expect((await keyOnly.request('POST', '/api/v2/auth/authenticate', await keyProof(keyOnly, pair, 'sign-in'))).json().isNewUser).toBe(false);
    expect((await keyOnly.request('PUT', '/api/v2/auth/password', { newPassword: NEW_PASSWORD })).json().code).toBe('VALIDATION_FAILED');
    expect((await keyOnly.request('GET', '/api/v2/auth/recovery-codes')).json().code).toBe('VALIDATION_FAILED');
  });
});

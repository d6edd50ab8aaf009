import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTerritoryDatabases } from '../../src/db/territory-databases.js';
import { createAccountSecretStore } from '../../src/modules/accounts/account-secret-repository.js';
import { createPurgeRepository } from '../../src/modules/personas/purge-repository.js';
import { createPurgeService } from '../../src/modules/personas/purge-service.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, GOOD_PASSWORD, newPerson } from '../support/browser.js';
import { newKeyPair, signKeyChallenge, type TestKeyPair } from '../support/key-signer.js';
import { SmtpSink } from '../support/smtp-sink.js';
import { newWallet, signWalletChallenge } from '../support/wallet-signer.js';

let test: TestApp;
let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
  test = await startTestApp({
    env: { SMTP_URL: sink.url, PUBLIC_ORIGIN: 'https://id.example', LOGIN_ATTEMPTS_PER_CLIENT: '10000' },
  });
}, 60_000);
afterAll(async () => {
  await test?.close();
  await sink?.close();
}, 60_000);

const db = () => test.database.db;
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
const call = (method: Method, url: string, token?: string, payload?: object): Promise<LightMyRequestResponse> =>
  test.app.inject({ method, url, ...(payload ? { payload } : {}), headers: token ? { authorization: `Bearer ${token}` } : {} });

function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: expect.any(String) });
}

interface SignedIn {
  readonly token: string;
  readonly isNewUser: boolean;
  readonly personaId: string;
}

async function signIn(proof: object): Promise<SignedIn> {
  const response = await call('POST', '/api/v2/auth/authenticate', undefined, { ...proof, client: 'api' });
  expect(response.statusCode, response.body).toBe(200);
  const body = response.json();
  return { token: body.accessToken, isNewUser: body.isNewUser, personaId: body.profiles[0].id };
}

/** A key ceremony's proof; linking and step-up ceremonies are asked for by the signed-in person. */
async function keyProof(pair: TestKeyPair, purpose = 'sign-in', token?: string) {
  const challenge = await call('POST', '/api/v2/auth/challenge', token, { strategy: 'key', publicKey: pair.publicKey, purpose });
  expect(challenge.statusCode, challenge.body).toBe(200);
  return signKeyChallenge(challenge.json(), pair);
}

const askCode = (email: string, purpose = 'sign-in', token?: string) => call('POST', '/api/v2/auth/challenge', token, { strategy: 'email', email, purpose });

async function emailProof(email: string, purpose = 'sign-in', token?: string) {
  const asked = await askCode(email, purpose, token);
  expect(asked.statusCode, asked.body).toBe(200);
  return { strategy: 'email', email, code: sink.lastCodeFor(email) };
}

/** Makes every session of the test look as if it signed in an hour ago: no longer fresh. */
const ageSessions = () => db().updateTable('sessions').set({ authenticated_at: sql<Date>`now() - interval '1 hour'` }).execute();

async function profileOf(personaId: string): Promise<string> {
  const row = await db().selectFrom('personas').select('accountability_profile_id').where('id', '=', personaId).executeTakeFirstOrThrow();
  return row.accountability_profile_id;
}

const held = (profileId: string) =>
  db().selectFrom('accountability_profiles').select(['risk_level', 'abuse_score', 'banned_at']).where('id', '=', profileId).executeTakeFirstOrThrow();

const admin = (method: Method, url: string, payload: object) => test.app.inject({ method, url, headers: test.adminHeaders, payload });

describe('step-up', () => {
  it('takes a fresh email code from an email-only person; once they hold a key, only the key will do', async () => {
    const email = newPerson('stepup').email;
    const person = await signIn(await emailProof(email));
    await ageSessions();
    const pair = newKeyPair();
    const stale = await call('POST', '/api/v2/auth/link-accounts', person.token, { targetType: 'key', proof: (({ strategy: _s, ...p }) => p)(await keyProof(pair, 'link', person.token)) });
    expectError(stale, 403, 'STEP_UP_REQUIRED');

    // The mailbox is all this person has: a fresh code confirms the session.
    const stepped = await call('POST', '/api/v2/auth/step-up', person.token, await emailProof(email, 'step-up', person.token));
    expect(stepped.statusCode, stepped.body).toBe(200);
    const { strategy: _s, ...proof } = await keyProof(pair, 'link', person.token);
    expect((await call('POST', '/api/v2/auth/link-accounts', person.token, { targetType: 'key', proof })).statusCode).toBe(200);

    // Now the person holds an authenticator: an email step-up is refused before any code is mailed.
    await ageSessions();
    const mailed = sink.to(email).length;
    expectError(await askCode(email, 'step-up', person.token), 403, 'STEP_UP_METHOD_TOO_WEAK');
    expect(sink.to(email)).toHaveLength(mailed);
    expect((await call('POST', '/api/v2/auth/step-up', person.token, await keyProof(pair, 'step-up', person.token))).statusCode).toBe(200);
  });

  it('takes a password of the person\'s own (email or handle), never another account\'s, under sign-in\'s attempt limits', async () => {
    const me = { ...newPerson('pwup'), handle: `pwup_${Date.now().toString(36)}` };
    const other = newPerson('pwother');
    const [browser, stranger] = [new Browser(test.app), new Browser(test.app)];
    expect((await browser.register(me)).statusCode).toBe(201);
    expect((await stranger.register(other)).statusCode).toBe(201);
    const mine = (await browser.session()).persona?.id;
    await ageSessions();
    const stepUp = (proof: object) => browser.request('POST', '/api/v2/auth/step-up', { strategy: 'password', ...proof });
    const change = () => browser.request('PUT', '/api/v2/auth/password', { newPassword: `${GOOD_PASSWORD} anew` });
    expectError(await change(), 403, 'STEP_UP_REQUIRED');

    // Another account's right credentials are refused, as a wrong password is: the session neither switches nor steps up.
    const sessions = async () => Number((await db().selectFrom('sessions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await sessions();
    const foreign = await stepUp({ email: other.email, password: other.password });
    expectError(foreign, 401, 'INVALID_CREDENTIALS');
    const wrong = await stepUp({ email: me.email, password: `${me.password} not` });
    expectError(wrong, 401, 'INVALID_CREDENTIALS');
    expect(wrong.json().message).toBe(foreign.json().message);
    expectError(await stepUp({ email: me.email, handle: me.handle, password: me.password }), 400, 'VALIDATION_FAILED');
    expect(await sessions()).toBe(before);
    expect((await browser.session()).persona?.id).toBe(mine);
    expectError(await change(), 403, 'STEP_UP_REQUIRED');

    // The person's own handle and password confirm the session itself.
    const stepped = await stepUp({ handle: me.handle.toUpperCase(), password: me.password });
    expect(stepped.statusCode, stepped.body).toBe(200);
    expect(stepped.json()).toEqual({ steppedUp: true, correlationId: expect.any(String) });
    expect(await sessions()).toBe(before);
    expect((await change()).statusCode).toBe(200);

    // Guesses count against the address as sign-in's do (LOGIN_ATTEMPTS_PER_ACCOUNT, 5), and sign-in sees them too.
    for (let attempt = 2; attempt <= 5; attempt++) expectError(await stepUp({ email: me.email, password: `guess ${attempt}` }), 401, 'INVALID_CREDENTIALS');
    expectError(await stepUp({ email: me.email, password: `${GOOD_PASSWORD} anew` }), 429, 'TOO_MANY_ATTEMPTS');
    expectError(await stranger.login({ email: me.email, password: `${GOOD_PASSWORD} anew` }), 429, 'TOO_MANY_ATTEMPTS');
  });

  it('refuses linking and step-up ceremonies to a caller who is not signed in', async () => {
    for (const purpose of ['link', 'step-up']) expectError(await askCode(newPerson('anon').email, purpose), 401, 'SESSION_REQUIRED');
  });
});

describe('PUT /api/v2/auth/password', () => {
  it('needs a fresh sign-in, follows the policy, and ends the account\'s other sessions', async () => {
    const email = newPerson('pw').email;
    const [laptop, phone] = [await signIn(await emailProof(email)), await signIn(await emailProof(email))];
    await ageSessions();
    expectError(await call('PUT', '/api/v2/auth/password', laptop.token, { newPassword: GOOD_PASSWORD }), 403, 'STEP_UP_REQUIRED');
    expect((await call('POST', '/api/v2/auth/step-up', laptop.token, await emailProof(email, 'step-up', laptop.token))).statusCode).toBe(200);
    expectError(await call('PUT', '/api/v2/auth/password', laptop.token, { newPassword: 'password' }), 400, 'WEAK_PASSWORD');

    const set = await call('PUT', '/api/v2/auth/password', laptop.token, { newPassword: GOOD_PASSWORD });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toEqual({ passwordSet: true, otherSessionsEnded: 1, correlationId: expect.any(String) });
    expectError(await call('GET', '/session', phone.token), 401, 'TOKEN_INVALID');
    expect((await call('GET', '/session', laptop.token)).statusCode).toBe(200);
    const login = await call('POST', '/auth/login', undefined, { email, password: GOOD_PASSWORD });
    expect(login.statusCode, login.body).toBe(200);
    expect(login.json().personaId).toBe(laptop.personaId);
  });

  it('belongs to an email account, and to a signed-in caller', async () => {
    const person = await signIn(await keyProof(newKeyPair()));
    expectError(await call('PUT', '/api/v2/auth/password', person.token, { newPassword: GOOD_PASSWORD }), 400, 'VALIDATION_FAILED');
    expectError(await call('PUT', '/api/v2/auth/password', undefined, { newPassword: GOOD_PASSWORD }), 401, 'SESSION_REQUIRED');
  });
});

describe('DELETE /api/v2/auth/identity', () => {
  it('ends every session, anonymizes every persona, removes every method; the method then starts a new person', async () => {
    const pair = newKeyPair();
    const [first, second] = [await signIn(await keyProof(pair)), await signIn(await keyProof(pair))];
    const created = await call('POST', '/personas', first.token, { displayName: 'Erasable Extra' });
    expect(created.statusCode, created.body).toBe(201);
    const profileId = await profileOf(first.personaId);

    const deleted = await call('DELETE', '/api/v2/auth/identity', first.token);
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(deleted.json()).toEqual({ deleted: true, purgeAfter: expect.any(String), correlationId: expect.any(String) });
    for (const token of [first.token, second.token]) expectError(await call('GET', '/session', token), 401, 'TOKEN_INVALID');

    const personas = await db().selectFrom('personas').select(['display_name', 'deleted_at', 'purge_after']).where('accountability_profile_id', '=', profileId).execute();
    expect(personas).toHaveLength(2);
    for (const persona of personas) {
      expect(persona.display_name).toMatch(/^deleted-[0-9a-f]{12}$/);
      expect(persona.deleted_at).not.toBeNull();
      expect(persona.purge_after).not.toBeNull();
    }
    expect(await db().selectFrom('accounts').select('id').where('accountability_profile_id', '=', profileId).execute()).toEqual([]);
    // Only the key's keyed lookup hash stays, for a ban placed during the purge period.
    expect(await db().selectFrom('retired_methods').select('type').where('accountability_profile_id', '=', profileId).execute()).toEqual([{ type: 'key' }]);
    const events = await db().selectFrom('outbox').select('payload').where('type', '=', 'IdentityDeleted').execute();
    expect(events.map((event) => (event.payload as { accountabilityProfileId: string }).accountabilityProfileId)).toContain(profileId);

    const again = await signIn(await keyProof(pair));
    expect(again.isNewUser).toBe(true);
    expect(again.personaId).not.toBe(first.personaId);
    expect(await profileOf(again.personaId)).not.toBe(profileId);
  });

  it('needs a fresh sign-in (as does deleting one persona), and stops at a legal hold', async () => {
    const person = await signIn(await keyProof(newKeyPair()));
    await ageSessions();
    expectError(await call('DELETE', '/api/v2/auth/identity', person.token), 403, 'STEP_UP_REQUIRED');
    expectError(await call('POST', `/personas/${person.personaId}/delete-permanent`, person.token), 403, 'STEP_UP_REQUIRED');

    const fresh = await signIn(await keyProof(newKeyPair()));
    const hold = await admin('PUT', `/admin/people/${await profileOf(fresh.personaId)}/legal-hold`, { legalHold: true });
    expect(hold.statusCode, hold.body).toBe(200);
    expectError(await call('DELETE', '/api/v2/auth/identity', fresh.token), 409, 'LEGAL_HOLD');
    expect((await call('GET', '/session', fresh.token)).statusCode).toBe(200);
  });

  it('lets a guest delete its identity with its cookie alone', async () => {
    const guest = await call('POST', '/api/v2/auth/authenticate', undefined, { strategy: 'guest', client: 'api' });
    const token = guest.json().accessToken as string;
    const deleted = await call('DELETE', '/api/v2/auth/identity', token);
    expect(deleted.statusCode, deleted.body).toBe(200);
    expectError(await call('GET', '/session', token), 401, 'TOKEN_INVALID');
  });
});

describe('a mark outlives the methods it was earned with', () => {
  it('passes a raised risk from a deleted identity to whoever signs in with its key next', async () => {
    const pair = newKeyPair();
    const person = await signIn(await keyProof(pair));
    expect((await admin('PUT', `/admin/people/${await profileOf(person.personaId)}/risk-level`, { riskLevel: 'HIGH' })).statusCode).toBe(200);
    expect((await call('DELETE', '/api/v2/auth/identity', person.token)).statusCode).toBe(200);
    const again = await signIn(await keyProof(pair));
    expect(again.isNewUser).toBe(true);
    expect((await held(await profileOf(again.personaId))).risk_level).toBe('HIGH');
  });

  it('lets a ban placed after the deletion of a clean identity reach the method', async () => {
    const pair = newKeyPair();
    const person = await signIn(await keyProof(pair));
    expect((await call('DELETE', '/api/v2/auth/identity', person.token)).statusCode).toBe(200);
    const ban = await admin('POST', '/admin/bans', { subject: { personaId: person.personaId }, reason: 'evidence found later' });
    expect(ban.statusCode, ban.body).toBe(200);
    const response = await call('POST', '/api/v2/auth/authenticate', undefined, { ...(await keyProof(pair)), client: 'api' });
    expectError(response, 403, 'ACCOUNT_SUSPENDED');
  });

  it('lets such a ban reach whoever signed in with the method in between, on every session', async () => {
    const pair = newKeyPair();
    const person = await signIn(await keyProof(pair));
    expect((await call('DELETE', '/api/v2/auth/identity', person.token)).statusCode).toBe(200);
    const successor = await signIn(await keyProof(pair));
    expect(successor.isNewUser).toBe(true);
    expect((await call('GET', '/session', successor.token)).statusCode).toBe(200);

    const ban = await admin('POST', '/admin/bans', { subject: { personaId: person.personaId }, reason: 'evidence found later' });
    expect(ban.statusCode, ban.body).toBe(200);
    expectError(await call('GET', '/session', successor.token), 401, 'TOKEN_INVALID');
    expect((await held(await profileOf(successor.personaId))).banned_at).not.toBeNull();
    expectError(await call('POST', '/api/v2/auth/authenticate', undefined, { ...(await keyProof(pair)), client: 'api' }), 403, 'ACCOUNT_SUSPENDED');
  });

  it('forgets a clean deleted identity\'s methods once its personas are purged', async () => {
    const person = await signIn(await keyProof(newKeyPair()));
    const profileId = await profileOf(person.personaId);
    expect((await call('DELETE', '/api/v2/auth/identity', person.token)).statusCode).toBe(200);
    const retired = () => db().selectFrom('retired_methods').select('type').where('accountability_profile_id', '=', profileId).execute();
    expect(await retired()).toHaveLength(1);
    const purge = createPurgeService({ purge: createPurgeRepository(db(), createAccountSecretStore(db(), openTerritoryDatabases(db(), {}))), clock: { now: () => new Date(Date.now() + 91 * 86_400_000) } });
    const report = await purge.run();
    expect(report.retiredMethodsForgotten).toBeGreaterThanOrEqual(1);
    expect(await retired()).toEqual([]);
  });

  it('passes an abuse score from a person to whoever signs in with the wallet they unlinked', async () => {
    const wallet = newWallet();
    const person = await signIn(await keyProof(newKeyPair()));
    const challenge = await call('POST', '/api/v2/auth/challenge', person.token, { strategy: 'wallet', purpose: 'link' });
    const { strategy: _s, ...proof } = await signWalletChallenge(challenge.json(), wallet);
    const graph = await call('POST', '/api/v2/auth/link-accounts', person.token, { targetType: 'wallet', proof });
    expect(graph.statusCode, graph.body).toBe(200);
    expect((await admin('PUT', `/admin/people/${await profileOf(person.personaId)}/abuse-score`, { score: 0.5 })).statusCode).toBe(200);
    const walletRef = graph.json().accounts.find((account: { type: string }) => account.type === 'wallet').ref;
    expect((await call('DELETE', `/api/v2/auth/accounts/${walletRef}`, person.token)).statusCode).toBe(200);

    const signedIn = await signIn(await signWalletChallenge((await call('POST', '/api/v2/auth/challenge', undefined, { strategy: 'wallet' })).json(), wallet));
    expect(signedIn.isNewUser).toBe(true);
    const mark = await held(await profileOf(signedIn.personaId));
    expect(mark.abuse_score).toBeCloseTo(0.5);
    expect(mark.risk_level).toBe('MEDIUM');
  });
});

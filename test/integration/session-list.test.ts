import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionListRepository } from '../../src/modules/sessions/session-list-repository.js';
import { createSessionLabelStore } from '../../src/modules/sessions/session-label-repository.js';
import { createOrphanRepository } from '../../src/modules/orphans/orphan-repository.js';
import { createOrphanSweeper } from '../../src/modules/orphans/orphan-sweep-service.js';
import { openTerritoryDatabases } from '../../src/db/territory-databases.js';
import type { PrivacyMode } from '../../src/modules/accounts/account.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, newPerson, SESSION_COOKIE } from '../support/browser.js';
import { newKeyPair, signKeyChallenge, type TestKeyPair } from '../support/key-signer.js';
import { territoryDb } from '../support/territory-db.js';

const CHROME_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const FORWARDED_IP = '203.0.113.77';

interface ListedSession {
  id: string;
  deviceLabel: string | null;
  client: 'browser' | 'api';
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
}

interface ApiSession {
  accessToken: string;
  refreshToken: string;
}

let test: TestApp;
beforeAll(async () => {
  // TRUST_PROXY: X-Forwarded-For is believed, so an address the service knows is at hand to leak.
  test = await startTestApp({ env: { PUBLIC_ORIGIN: 'https://id.example.test', TRUST_PROXY: '127.0.0.1' } });
}, 60_000);
afterAll(() => test?.close());

const db = () => test.database.db;
const browserWith = (userAgent: string) => new Browser(test.app, { 'user-agent': userAgent, 'x-forwarded-for': FORWARDED_IP });

/** A person signed in from several browsers: the first registers, the others log in. */
async function personOn(...userAgents: string[]): Promise<Browser[]> {
  const person = newPerson('list');
  const browsers = userAgents.map(browserWith);
  const [first, ...others] = browsers as [Browser, ...Browser[]];
  expect((await first.register(person)).statusCode).toBe(201);
  for (const browser of others) expect((await browser.login(person)).statusCode).toBe(200);
  return browsers;
}

async function list(browser: Browser): Promise<ListedSession[]> {
  const response = await browser.request('GET', '/api/v2/auth/sessions');
  expect(response.statusCode, response.body).toBe(200);
  return response.json().sessions;
}

const current = async (browser: Browser) => (await list(browser)).find((session) => session.current) as ListedSession;

function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: expect.any(String) });
}

const bearer = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

/** An API client signing in with an ed25519 key (a new person on first use of the key). */
async function apiSignIn(pair: TestKeyPair, userAgent = 'personae-cli/1.0'): Promise<ApiSession> {
  const challenge = await test.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'key', publicKey: pair.publicKey } });
  expect(challenge.statusCode, challenge.body).toBe(200);
  const response = await test.app.inject({
    method: 'POST',
    url: '/api/v2/auth/authenticate',
    headers: { 'user-agent': userAgent, 'x-forwarded-for': FORWARDED_IP },
    payload: { ...signKeyChallenge(challenge.json(), pair), client: 'api' },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

const apiRequest = (method: 'GET' | 'POST' | 'DELETE', url: string, token: string) =>
  test.app.inject({ method, url, headers: bearer(token, { 'x-forwarded-for': FORWARDED_IP }) });

const revokedEvents = async () =>
  (await db().selectFrom('outbox').select('payload').where('type', '=', 'SessionRevoked').execute()).map((row) => row.payload);

describe('GET /api/v2/auth/sessions', () => {
  it('lists the person\'s browser sessions with device labels, marking the current one', async () => {
    const [mac, windows] = await personOn(CHROME_MAC, FIREFOX_WINDOWS);
    const fromMac = await list(mac as Browser);
    expect(fromMac).toHaveLength(2);
    expect(fromMac.map((session) => session.deviceLabel).sort()).toEqual(['Chrome on macOS', 'Firefox on Windows']);
    for (const session of fromMac) {
      expect(Object.keys(session).sort()).toEqual(['client', 'createdAt', 'current', 'deviceLabel', 'id', 'lastSeenAt']);
      expect(session.id).toMatch(/^[0-9a-f]{32}$/);
      expect(session.client).toBe('browser');
      expect(Date.parse(session.createdAt)).toBeLessThanOrEqual(Date.now() + 1000);
      expect(Date.parse(session.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(session.createdAt) - 1000);
    }
    expect(fromMac.filter((session) => session.current).map((session) => session.deviceLabel)).toEqual(['Chrome on macOS']);
    const fromWindows = await list(windows as Browser);
    expect(fromWindows.filter((session) => session.current).map((session) => session.deviceLabel)).toEqual(['Firefox on Windows']);
    expect(new Set(fromWindows.map((session) => session.id))).toEqual(new Set(fromMac.map((session) => session.id)));
  });

  it('answers no row id, account id, token hash or address, even behind a proxy that forwards one', async () => {
    const [browser] = await personOn(SAFARI_IPHONE);
    const response = await (browser as Browser).request('GET', '/api/v2/auth/sessions');
    const [session] = response.json().sessions as ListedSession[];
    const row = await db().selectFrom('sessions').selectAll().where('public_id', '=', (session as ListedSession).id).executeTakeFirstOrThrow();
    expect(response.body).not.toContain(FORWARDED_IP);
    expect(response.body).not.toContain('127.0.0.1');
    expect(response.body).not.toContain(row.id);
    expect(response.body).not.toContain(row.account_id);
    for (const encoding of ['hex', 'base64', 'base64url'] as const) expect(response.body).not.toContain(row.token_hash.toString(encoding));
    expect(JSON.stringify(row)).not.toContain(FORWARDED_IP); // nor is it stored
    // The label lives in the person's territory, by session id; the global session row has none.
    expect(Object.keys(row)).not.toContain('device_label');
    const label = await territoryDb(db()).selectFrom('session_labels').select(['label', 'account_id']).where('session_id', '=', row.id).executeTakeFirstOrThrow();
    expect(label).toEqual({ label: 'Safari on iOS', account_id: row.account_id });
  });

  it('does not list another person\'s sessions', async () => {
    const [mine] = await personOn(CHROME_MAC);
    const [theirs] = await personOn(FIREFOX_WINDOWS);
    const theirId = (await current(theirs as Browser)).id;
    expect((await list(mine as Browser)).map((session) => session.id)).not.toContain(theirId);
  });

  it('refuses visitors without a session (401 SESSION_REQUIRED); a guest sees only its own one session', async () => {
    const browserGuest = new Browser(test.app);
    expect((await browserGuest.request('POST', '/session')).statusCode).toBe(201);
    const apiGuest = (await test.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload: { strategy: 'guest', client: 'api' } })).json();
    const nobody = new Browser(test.app);
    for (const [method, url] of [
      ['GET', '/api/v2/auth/sessions'],
      ['POST', '/api/v2/auth/sessions/revoke-others'],
      ['DELETE', `/api/v2/auth/sessions/${'a'.repeat(32)}`],
    ] as const) {
      expectError(await nobody.request(method, url), 401, 'SESSION_REQUIRED');
    }
    // Guests are accounts (spec 003): each lists its own session, and never another's.
    const browserList = (await browserGuest.request('GET', '/api/v2/auth/sessions')).json().sessions;
    const apiList = (await apiRequest('GET', '/api/v2/auth/sessions', apiGuest.accessToken)).json().sessions;
    expect(browserList).toEqual([expect.objectContaining({ client: 'browser', current: true })]);
    expect(apiList).toEqual([expect.objectContaining({ client: 'api', current: true })]);
    expect(browserList[0].id).not.toBe(apiList[0].id);
    expectError(await browserGuest.request('DELETE', `/api/v2/auth/sessions/${apiList[0].id}`), 404, 'SESSION_NOT_FOUND');
    expect((await browserGuest.request('POST', '/api/v2/auth/sessions/revoke-others')).json().revoked).toBe(0);
    expect((await apiRequest('GET', '/api/v2/auth/sessions', apiGuest.accessToken)).statusCode).toBe(200);
  });
});

describe('DELETE /api/v2/auth/sessions/{id}', () => {
  it('ends another session of mine at once, on its next request (cache included), with an event', async () => {
    const [mac, windows] = (await personOn(CHROME_MAC, FIREFOX_WINDOWS)) as [Browser, Browser];
    expect((await windows.session()).anonymous).toBe(false); // now in the node's session cache
    const target = await current(windows);
    const row = await db()
      .selectFrom('sessions as s')
      .innerJoin('accounts as a', 'a.id', 's.account_id')
      .select(['s.id', 'a.accountability_profile_id as profileId'])
      .where('s.public_id', '=', target.id)
      .executeTakeFirstOrThrow();

    const response = await mac.request('DELETE', `/api/v2/auth/sessions/${target.id}`);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ revoked: 1, correlationId: expect.any(String) });
    expect(response.cookies.map((cookie) => cookie.name)).not.toContain(SESSION_COOKIE); // not mac's own

    expect((await windows.session()).anonymous).toBe(true);
    expect(windows.sessionCookie).toBeUndefined(); // the dead session's cookie was cleared
    expect((await list(mac)).map((session) => session.deviceLabel)).toEqual(['Chrome on macOS']);
    expect(await db().selectFrom('sessions').select('id').where('id', '=', row.id).executeTakeFirst()).toBeUndefined();
    expect(await revokedEvents()).toContainEqual({ sessionId: row.id, accountabilityProfileId: row.profileId, reason: 'user' });
  });

  it('answers 404 SESSION_NOT_FOUND for another person\'s session, which keeps working', async () => {
    const [mine] = (await personOn(CHROME_MAC)) as [Browser];
    const [theirs] = (await personOn(FIREFOX_WINDOWS)) as [Browser];
    const theirId = (await current(theirs)).id;
    const before = (await revokedEvents()).length;
    expectError(await mine.request('DELETE', `/api/v2/auth/sessions/${theirId}`), 404, 'SESSION_NOT_FOUND');
    expect((await theirs.session()).anonymous).toBe(false);
    expect((await list(theirs)).map((session) => session.id)).toEqual([theirId]);
    expect(await revokedEvents()).toHaveLength(before);
  });

  it('answers 404 for an unknown or already ended session, and 400 for a malformed id', async () => {
    const [mac, windows] = (await personOn(CHROME_MAC, FIREFOX_WINDOWS)) as [Browser, Browser];
    expectError(await mac.request('DELETE', `/api/v2/auth/sessions/${'0'.repeat(32)}`), 404, 'SESSION_NOT_FOUND');
    const target = (await current(windows)).id;
    expect((await mac.request('DELETE', `/api/v2/auth/sessions/${target}`)).statusCode).toBe(200);
    expectError(await mac.request('DELETE', `/api/v2/auth/sessions/${target}`), 404, 'SESSION_NOT_FOUND');
    for (const bad of ['not-a-session', 'A'.repeat(32), `${'a'.repeat(32)}0`]) {
      expectError(await mac.request('DELETE', `/api/v2/auth/sessions/${bad}`), 400, 'VALIDATION_FAILED');
    }
  });

  it('ending the current session signs the browser out and clears its cookie', async () => {
    const [browser] = (await personOn(CHROME_MAC)) as [Browser];
    const own = await current(browser);
    const response = await browser.request('DELETE', `/api/v2/auth/sessions/${own.id}`);
    expect(response.statusCode, response.body).toBe(200);
    const cleared = response.cookies.find((cookie) => cookie.name === SESSION_COOKIE) as { maxAge?: number; expires?: Date } | undefined;
    expect(cleared).toBeDefined();
    expect(cleared?.maxAge === 0 || (cleared?.expires?.getTime() ?? Infinity) <= Date.now()).toBe(true);
    expect(browser.sessionCookie).toBeUndefined();
    expect((await browser.session()).anonymous).toBe(true);
  });
});

describe('device labels of ended sessions', () => {
  it('are swept from the territory once their session is gone, never while it lives or just after it was made', async () => {
    const [mac, windows] = (await personOn(CHROME_MAC, FIREFOX_WINDOWS)) as [Browser, Browser];
    const target = await current(windows);
    const ended = await db().selectFrom('sessions').select('id').where('public_id', '=', target.id).executeTakeFirstOrThrow();
    const kept = await db().selectFrom('sessions').select('id').where('public_id', '=', (await current(mac)).id).executeTakeFirstOrThrow();
    expect((await mac.request('DELETE', `/api/v2/auth/sessions/${target.id}`)).statusCode).toBe(200);
    const labelOf = async (sessionId: string) => (await territoryDb(db()).selectFrom('session_labels').select('label').where('session_id', '=', sessionId).executeTakeFirst())?.label;
    // Ending a session touches no territory: its label waits for the sweep.
    expect(await labelOf(ended.id)).toBe('Firefox on Windows');
    // The orphan sweep, as the service runs it, at a moment the test chooses.
    const sweepAt = (at: Date) => createOrphanSweeper({ orphans: createOrphanRepository(db(), openTerritoryDatabases(db(), {})), clock: { now: () => at }, graceSeconds: 600 }).sweep();
    // Too young: a remote territory's label may be waiting for its session's global commit.
    await sweepAt(new Date());
    expect(await labelOf(ended.id)).toBe('Firefox on Windows');
    // An hour later.
    expect((await sweepAt(new Date(Date.now() + 3_600_000))).deleted.session_labels).toBeGreaterThanOrEqual(1);
    expect(await labelOf(ended.id)).toBeUndefined();
    expect(await labelOf(kept.id)).toBe('Chrome on macOS');
    expect((await list(mac)).map((session) => session.deviceLabel)).toEqual(['Chrome on macOS']);
  });
});

describe('POST /api/v2/auth/sessions/revoke-others', () => {
  it('ends every other session, keeps the current one, and counts them', async () => {
    const [mac, windows, phone] = (await personOn(CHROME_MAC, FIREFOX_WINDOWS, SAFARI_IPHONE)) as [Browser, Browser, Browser];
    const [stranger] = (await personOn(CHROME_MAC)) as [Browser];
    const response = await mac.request('POST', '/api/v2/auth/sessions/revoke-others');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ revoked: 2, correlationId: expect.any(String) });
    expect((await list(mac)).map((session) => [session.deviceLabel, session.current])).toEqual([['Chrome on macOS', true]]);
    expect((await windows.session()).anonymous).toBe(true);
    expect((await phone.session()).anonymous).toBe(true);
    expect((await stranger.session()).anonymous).toBe(false); // another person's sessions are untouched
    expect((await mac.request('POST', '/api/v2/auth/sessions/revoke-others')).json().revoked).toBe(0);
  });
});

describe('API clients', () => {
  it('list their sessions (client "api") and end another one: its access and refresh tokens stop working', async () => {
    const pair = newKeyPair();
    const first = await apiSignIn(pair, 'personae-cli/1.0');
    const second = await apiSignIn(pair, FIREFOX_WINDOWS);
    const listed = await apiRequest('GET', '/api/v2/auth/sessions', first.accessToken);
    expect(listed.statusCode, listed.body).toBe(200);
    const sessions = listed.json().sessions as ListedSession[];
    expect(sessions).toHaveLength(2);
    expect(sessions.every((session) => session.client === 'api')).toBe(true);
    expect(listed.body).not.toContain(FORWARDED_IP);
    const mine = sessions.find((session) => session.current) as ListedSession;
    const other = sessions.find((session) => !session.current) as ListedSession;
    expect(other.deviceLabel).toBe('Firefox on Windows');
    const otherRow = await db().selectFrom('sessions').select('id').where('public_id', '=', other.id).executeTakeFirstOrThrow();
    const refreshTokensOf = (sessionId: string) => db().selectFrom('refresh_tokens').select('token_hash').where('session_id', '=', sessionId).execute();
    expect(await refreshTokensOf(otherRow.id)).toHaveLength(1);

    expect((await apiRequest('DELETE', `/api/v2/auth/sessions/${other.id}`, first.accessToken)).statusCode).toBe(200);
    expectError(await apiRequest('GET', '/api/v2/auth/sessions', second.accessToken), 401, 'TOKEN_INVALID');
    const refresh = await test.app.inject({ method: 'POST', url: '/api/v2/auth/refresh', payload: { refreshToken: second.refreshToken } });
    expectError(refresh, 401, 'TOKEN_INVALID');
    const stillMine = (await apiRequest('GET', '/api/v2/auth/sessions', first.accessToken)).json().sessions as ListedSession[];
    expect(stillMine.map((session) => session.id)).toEqual([mine.id]);
    expect(await refreshTokensOf(otherRow.id)).toHaveLength(0); // cascaded with the session
  });

  it('ending its own session ends its tokens (a sign-out)', async () => {
    const session = await apiSignIn(newKeyPair());
    const own = ((await apiRequest('GET', '/api/v2/auth/sessions', session.accessToken)).json().sessions as ListedSession[])[0] as ListedSession;
    const response = await apiRequest('DELETE', `/api/v2/auth/sessions/${own.id}`, session.accessToken);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.cookies.map((cookie) => cookie.name)).not.toContain(SESSION_COOKIE);
    expectError(await apiRequest('GET', '/session', session.accessToken), 401, 'TOKEN_INVALID');
    const refresh = await test.app.inject({ method: 'POST', url: '/api/v2/auth/refresh', payload: { refreshToken: session.refreshToken } });
    expectError(refresh, 401, 'TOKEN_INVALID');
  });
});

describe('one person, several accounts: privacy modes', () => {
  /**
   * A person with an email account (a browser) and a key account (an API client). Linking routes
   * merge the two accounts' accountability profiles; this setup makes that merge directly, so the
   * listing rule is tested apart from how links are made.
   */
  async function personWithTwoAccounts() {
    const [browser] = (await personOn(CHROME_MAC)) as [Browser];
    const api = await apiSignIn(newKeyPair());
    const ids = async (publicId: string) =>
      db()
        .selectFrom('sessions as s')
        .innerJoin('accounts as a', 'a.id', 's.account_id')
        .select(['a.id as accountId', 'a.accountability_profile_id as profileId'])
        .where('s.public_id', '=', publicId)
        .executeTakeFirstOrThrow();
    const browserSession = await current(browser);
    const apiSession = ((await apiRequest('GET', '/api/v2/auth/sessions', api.accessToken)).json().sessions as ListedSession[])[0] as ListedSession;
    const email = await ids(browserSession.id);
    const key = await ids(apiSession.id);
    await db().updateTable('accounts').set({ accountability_profile_id: email.profileId }).where('id', '=', key.accountId).execute();
    const setMode = (accountId: string, mode: PrivacyMode) =>
      db().updateTable('accounts').set({ privacy_mode: mode }).where('id', '=', accountId).execute();
    const listIds = async (accountId: string) => (await createSessionListRepository(db(), createSessionLabelStore(db(), openTerritoryDatabases(db(), {}))).list(accountId)).map((session) => session.publicId).sort();
    return { email, key, browserSession, apiSession, setMode, listIds, browser, api };
  }

  it('linked and partial accounts see each other\'s sessions; an isolated one sees only its own and is seen by none', async () => {
    const { email, key, browserSession, apiSession, setMode, listIds } = await personWithTwoAccounts();
    const both = [browserSession.id, apiSession.id].sort();
    expect(await listIds(email.accountId)).toEqual(both);
    expect(await listIds(key.accountId)).toEqual(both);
    await setMode(key.accountId, 'partial');
    expect(await listIds(email.accountId)).toEqual(both);
    await setMode(key.accountId, 'isolated');
    expect(await listIds(email.accountId)).toEqual([browserSession.id]);
    expect(await listIds(key.accountId)).toEqual([apiSession.id]);
  });

  it('an account cannot end an isolated sibling\'s session, and revoke-others leaves it alone', async () => {
    const { key, apiSession, setMode, browser, api } = await personWithTwoAccounts();
    await setMode(key.accountId, 'isolated');
    expectError(await browser.request('DELETE', `/api/v2/auth/sessions/${apiSession.id}`), 404, 'SESSION_NOT_FOUND');
    expect((await browser.request('POST', '/api/v2/auth/sessions/revoke-others')).json().revoked).toBe(0);
    expect((await apiRequest('GET', '/api/v2/auth/sessions', api.accessToken)).statusCode).toBe(200);
    await setMode(key.accountId, 'linked');
    expect((await browser.request('POST', '/api/v2/auth/sessions/revoke-others')).json().revoked).toBe(1);
    expectError(await apiRequest('GET', '/api/v2/auth/sessions', api.accessToken), 401, 'TOKEN_INVALID');
  });
});

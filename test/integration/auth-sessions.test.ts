import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailBox, normalizeEmail } from '../../src/crypto/email-box.js';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { redisUrl, startTestApp, type TestApp } from '../support/app.js';
import { Browser, newPerson, SESSION_COOKIE, sameSecrets } from '../support/browser.js';

/**
 * Signed-in sessions: timeouts by the database's clock, token rotation at every authentication, the
 * guest left behind (linked, internally), and bans. The cache is off in this app (TTL 0), so every
 * GET /session reads the database; the caching tests start their own app.
 */
let test: TestApp;
beforeAll(async () => {
  test = await startTestApp({
    env: { SESSION_IDLE_TIMEOUT_SECONDS: '60', SESSION_CACHE_TTL_SECONDS: '0', LOGIN_ATTEMPTS_PER_CLIENT: '10000' },
  });
});
afterAll(() => test.close());

const db = () => test.database.db;

async function signedIn(browser = new Browser(test.app)) {
  const person = newPerson('sess');
  const response = await browser.register(person);
  expect(response.statusCode, response.body).toBe(201);
  return { browser, person, personaId: response.json().personaId as string };
}

const sessionRow = (browser: Browser) =>
  db().selectFrom('sessions').selectAll().where('token_hash', '=', new TokenHasher(test.config.secrets.tokenHashKey).hash('session', browser.sessionToken)).executeTakeFirst();
const backdate = (browser: Browser, column: 'last_seen_at' | 'expires_at', seconds: number) =>
  db()
    .updateTable('sessions')
    .set({ [column]: sql<Date>`now() - make_interval(secs => ${seconds})` })
    .where('token_hash', '=', new TokenHasher(test.config.secrets.tokenHashKey).hash('session', browser.sessionToken))
    .execute();
const get = (cookies: Record<string, string | undefined>) =>
  test.app.inject({
    method: 'GET',
    url: '/session',
    headers: { cookie: Object.entries(cookies).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join('; ') },
  });
const accountOf = async (email: string) => {
  const box = new EmailBox(test.config.secrets.emailKeys, new TokenHasher(test.config.secrets.tokenHashKey));
  return db().selectFrom('accounts').selectAll().where('type', '=', 'email').where('lookup_key', '=', box.lookupKey(normalizeEmail(email))).executeTakeFirstOrThrow();
};

describe('timeouts (decided by the database clock)', () => {
  it('stores the absolute end and the idle timeout with the session', async () => {
    const { browser } = await signedIn();
    const row = await sessionRow(browser);
    expect(row?.idle_timeout_seconds).toBe(60);
    const lifetime = (row!.expires_at!.getTime() - row!.created_at.getTime()) / 1000;
    expect(Math.abs(lifetime - test.config.sessions.absoluteSeconds)).toBeLessThan(2);
  });

  it('ends a session unused for longer than the idle timeout: the request falls back to the guest and the cookie is cleared', async () => {
    const { browser, personaId } = await signedIn();
    await backdate(browser, 'last_seen_at', 61);
    const response = await browser.request('GET', '/session');
    expect(response.json()).toMatchObject({ anonymous: true });
    expect(response.json().persona?.id).not.toBe(personaId);
    expect(String(response.headers['set-cookie'])).toContain(`${SESSION_COOKIE}=; Max-Age=0`);
    expect(browser.sessionCookie).toBeUndefined();
  });

  it('keeps a session in use alive: a request refreshes last_seen_at once it is older than half the idle timeout', async () => {
    const { browser, personaId } = await signedIn();
    await backdate(browser, 'last_seen_at', 20);
    const before = (await sessionRow(browser))!.last_seen_at;
    expect((await browser.session()).persona?.id).toBe(personaId);
    expect((await sessionRow(browser))!.last_seen_at).toEqual(before); // recent enough: no write

    await backdate(browser, 'last_seen_at', 45);
    expect((await browser.session()).persona?.id).toBe(personaId);
    const touched = (await sessionRow(browser))!.last_seen_at;
    expect(Date.now() - touched.getTime()).toBeLessThan(5000);
    await backdate(browser, 'last_seen_at', 45); // 45 s after the refresh: still alive
    expect((await browser.session()).anonymous).toBe(false);
  });

  it('ends a session past its absolute end however recently it was used', async () => {
    const { browser } = await signedIn();
    await backdate(browser, 'expires_at', 1);
    expect((await browser.session()).anonymous).toBe(true);
    // A state-changing request resolves its caller the same way: as the guest, not the dead session.
    const started = await browser.request('POST', '/session');
    expect(started.json()).toMatchObject({ anonymous: true });
  });

  it('clears a session cookie whose signature does not verify, without a database lookup mattering', async () => {
    const { browser } = await signedIn();
    const forged = `${browser.sessionToken}.AAAA`;
    const response = await get({ anon_id: browser.anonCookie, [SESSION_COOKIE]: forged });
    expect(response.json().anonymous).toBe(true);
    expect(String(response.headers['set-cookie'])).toContain(`${SESSION_COOKIE}=; Max-Age=0`);
  });
});

describe('token rotation at every authentication', () => {
  it('login mints a new session token and ends the browser\'s previous session', async () => {
    const { browser, person } = await signedIn();
    const old = browser.sessionCookie;
    expect((await browser.login(person)).statusCode).toBe(200);
    expect(browser.sessionCookie).toBeDefined();
    expect(browser.sessionCookie).not.toBe(old);
    expect((await get({ [SESSION_COOKIE]: old })).json().anonymous).toBe(true);
    expect((await browser.session()).anonymous).toBe(false);
    expect(await db().selectFrom('sessions').select('id').where('account_id', '=', (await accountOf(person.email)).id).execute()).toHaveLength(1);
  });

  it('registering from a signed-in browser ends the other account\'s session there', async () => {
    const { browser } = await signedIn();
    const old = browser.sessionCookie;
    const { personaId } = await signedIn(browser);
    expect((await get({ [SESSION_COOKIE]: old })).json().anonymous).toBe(true);
    expect((await browser.session()).persona?.id).toBe(personaId);
  });

  it('rotates anon_id when a guest was started: the old token resolves nothing, the new one is the same guest', async () => {
    const browser = new Browser(test.app);
    const guest = (await browser.request('POST', '/session')).json().persona;
    const oldAnon = browser.anonCookie;
    const guestAccount = await db().selectFrom('accounts').select(['id', 'lookup_key']).where('lookup_key', '=', new TokenHasher(test.config.secrets.tokenHashKey).hash('anonymous', browser.anonToken)).executeTakeFirstOrThrow();
    await signedIn(browser);
    expect(browser.anonCookie).toBeDefined();
    expect(browser.anonCookie).not.toBe(oldAnon);
    expect((await get({ anon_id: oldAnon })).json()).toMatchObject({ started: false });
    expect((await get({ anon_id: browser.anonCookie })).json()).toMatchObject({ started: true, anonymous: true, persona: { id: guest.id } });
    const moved = await db().selectFrom('accounts').select('lookup_key').where('id', '=', guestAccount.id).executeTakeFirstOrThrow();
    expect(Buffer.from(moved.lookup_key)).toEqual(new TokenHasher(test.config.secrets.tokenHashKey).hash('anonymous', browser.anonToken));
  });

  it('leaves anon_id alone when nothing hangs off it', async () => {
    const browser = new Browser(test.app);
    await browser.request('GET', '/session');
    const anon = browser.anonCookie;
    await signedIn(browser);
    expect(browser.anonCookie).toBe(anon);
  });

  it('moves voluntary identification to the new token: readable after login, gone from the old token', async () => {
    const browser = new Browser(test.app);
    const data = { identityData: { name: 'Ada Lovelace' }, consent: true };
    expect((await browser.request('POST', '/identity-link', data)).statusCode).toBe(201);
    const oldAnon = browser.anonCookie;
    const rows = async () => (await db().selectFrom('identity_links').select('lookup_key').execute()).length;
    const before = await rows();
    const { person } = await signedIn(browser);
    expect((await browser.request('GET', '/identity-link')).json().identityData).toEqual(data.identityData);
    expect((await test.app.inject({ method: 'GET', url: '/identity-link', headers: { cookie: `anon_id=${oldAnon}` } })).statusCode).toBe(404);
    expect(await rows()).toBe(before);
    // And again at the next login.
    expect((await browser.login(person)).statusCode).toBe(200);
    expect((await browser.request('GET', '/identity-link')).json().identityData).toEqual(data.identityData);
  });
});

describe('guest → account (DESIGN.md §2b)', () => {
  async function riskyGuest(changes: { risk_level?: 'MEDIUM' | 'HIGH'; abuse_score?: number; banned?: boolean }) {
    const browser = new Browser(test.app);
    const guest = (await browser.request('POST', '/session')).json().persona;
    const profile = await db().selectFrom('personas').select('accountability_profile_id').where('id', '=', guest.id).executeTakeFirstOrThrow();
    await db()
      .updateTable('accountability_profiles')
      .set({
        ...(changes.risk_level ? { risk_level: changes.risk_level } : {}),
        ...(changes.abuse_score !== undefined ? { abuse_score: changes.abuse_score } : {}),
        ...(changes.banned ? { banned_at: new Date(), ban_reason: 'spam' } : {}),
      })
      .where('id', '=', profile.accountability_profile_id)
      .execute();
    const account = await db().selectFrom('accounts').select('id').where('accountability_profile_id', '=', profile.accountability_profile_id).executeTakeFirstOrThrow();
    return { browser, guest, guestAccountId: account.id };
  }

  it('registering records an inferred link and raises the new person to the guest\'s risk; the guest\'s personas stay behind', async () => {
    const { browser, guest, guestAccountId } = await riskyGuest({ risk_level: 'MEDIUM', abuse_score: 0.5 });
    const { person, personaId } = await signedIn(browser);
    const account = await accountOf(person.email);
    expect(await db().selectFrom('account_links').selectAll().where('to_account_id', '=', account.id).execute()).toEqual([
      expect.objectContaining({ from_account_id: guestAccountId, to_account_id: account.id, kind: 'inferred', privacy_mode: null }),
    ]);
    const profile = await db().selectFrom('accountability_profiles').selectAll().where('id', '=', account.accountability_profile_id).executeTakeFirstOrThrow();
    expect(profile.risk_level).toBe('MEDIUM');
    expect(profile.abuse_score).toBeCloseTo(0.5);
    expect(profile.banned_at).toBeNull();
    const access = await db().selectFrom('persona_access').select('persona_id').where('account_id', '=', account.id).execute();
    expect(access.map((row) => row.persona_id)).toEqual([personaId]);
    expect(access.map((row) => row.persona_id)).not.toContain(guest.id);
    const linked = await db().selectFrom('outbox').select('payload').where('type', '=', 'AccountsLinked').execute();
    expect(linked.map((event) => event.payload)).toContainEqual({
      fromAccountId: guestAccountId,
      toAccountId: account.id,
      kind: 'inferred',
      accountabilityProfileId: account.accountability_profile_id,
    });
    // Nothing of it is public.
    const publicBody = JSON.stringify(await browser.session());
    for (const secret of [guestAccountId, account.id, account.accountability_profile_id, 'MEDIUM', 'inferred']) expect(publicBody).not.toContain(secret);
  });

  it('logging in from a high-risk guest raises an existing account, and links once however often it happens', async () => {
    const { person } = await signedIn();
    const { browser, guestAccountId } = await riskyGuest({ risk_level: 'HIGH', abuse_score: 0.9 });
    expect((await browser.login(person)).statusCode).toBe(200);
    expect((await browser.login(person)).statusCode).toBe(200); // the same browser again
    const account = await accountOf(person.email);
    const profile = await db().selectFrom('accountability_profiles').selectAll().where('id', '=', account.accountability_profile_id).executeTakeFirstOrThrow();
    expect(profile.risk_level).toBe('HIGH');
    expect(await db().selectFrom('account_links').select('id').where('from_account_id', '=', guestAccountId).execute()).toHaveLength(1);
  });

  it('a banned guest cannot shed the ban by registering: the account is banned, no session, ACCOUNT_SUSPENDED', async () => {
    const { browser } = await riskyGuest({ banned: true });
    const person = newPerson('banned');
    const response = await browser.register(person);
    expect(response.statusCode).toBe(403);
    expect(response.json().code).toBe('ACCOUNT_SUSPENDED');
    expect(browser.sessionCookie).toBeUndefined();
    const account = await accountOf(person.email);
    const profile = await db().selectFrom('accountability_profiles').selectAll().where('id', '=', account.accountability_profile_id).executeTakeFirstOrThrow();
    expect(profile.banned_at).not.toBeNull();
    expect(profile.ban_reason).toBe('inherited from a linked guest: spam');
    expect(await db().selectFrom('sessions').select('id').where('account_id', '=', account.id).execute()).toEqual([]);
    // From a clean browser too: the credentials are right, the person is banned.
    const clean = new Browser(test.app);
    expect((await clean.login(person)).json().code).toBe('ACCOUNT_SUSPENDED');
    expect(clean.sessionCookie).toBeUndefined();
  });

  it('a banned guest logging in bans the account and ends its sessions on other devices', async () => {
    const { browser: elsewhere, person } = await signedIn();
    const { browser } = await riskyGuest({ banned: true });
    expect((await browser.login(person)).json().code).toBe('ACCOUNT_SUSPENDED');
    expect((await elsewhere.session()).anonymous).toBe(true);
  });
});

describe('bans and the public session', () => {
  it('a ban revokes signed-in sessions: the next request is a guest again', async () => {
    const { browser, personaId } = await signedIn();
    const banned = await test.app.inject({ method: 'POST', url: '/admin/bans', headers: test.adminHeaders, payload: { subject: { personaId }, reason: 'spam' } });
    expect(banned.statusCode).toBe(200);
    expect((await browser.session()).anonymous).toBe(true);
    expect(browser.sessionCookie).toBeUndefined();
  });

  it('shows `verified` on the persona, from the person', async () => {
    const { browser, person } = await signedIn();
    expect((await browser.session()).persona?.verified).toBe(false);
    await db().updateTable('accountability_profiles').set({ is_verified: true }).where('id', '=', (await accountOf(person.email)).accountability_profile_id).execute();
    expect((await browser.session()).persona?.verified).toBe(true);
  });
});

describe('the session cache', () => {
  it('serves a signed-in GET /session from the cache without writing, and logout evicts it', async () => {
    const cached = await startTestApp({ database: test.database, env: { ...sameSecrets(test.config), SESSION_CACHE_TTL_SECONDS: '3600' } });
    try {
      const browser = new Browser(cached.app);
      const person = newPerson('cache');
      expect((await browser.register(person)).statusCode).toBe(201);
      expect((await browser.session()).anonymous).toBe(false); // now cached
      await backdate(browser, 'last_seen_at', 300);
      const before = (await sessionRow(browser))!.last_seen_at;
      expect((await browser.session()).anonymous).toBe(false);
      expect((await sessionRow(browser))!.last_seen_at).toEqual(before); // a cache hit writes nothing
      const cookie = browser.sessionCookie;
      expect((await browser.request('POST', '/auth/logout')).json().signedOut).toBe(true);
      const replay = await cached.app.inject({ method: 'GET', url: '/session', headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
      expect(replay.json().anonymous).toBe(true);
    } finally {
      await cached.close();
    }
  });

  it.runIf(redisUrl)('logout on one node ends the session on another node that had it cached (Redis)', async () => {
    const env = { ...sameSecrets(test.config), SESSION_CACHE_TTL_SECONDS: '3600' };
    const [a, b] = [await startTestApp({ database: test.database, env, redis: true }), await startTestApp({ database: test.database, env, redis: true })];
    try {
      const onA = new Browser(a.app);
      expect((await onA.register(newPerson('nodes'))).statusCode).toBe(201);
      const cookies = { anon_id: onA.anonCookie, [SESSION_COOKIE]: onA.sessionCookie };
      const onB = () => b.app.inject({ method: 'GET', url: '/session', headers: { cookie: Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ') } });
      expect((await onB()).json().anonymous).toBe(false); // cached on B
      expect((await onA.request('POST', '/auth/logout')).json().signedOut).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200)); // pub/sub delivery
      expect((await onB()).json().anonymous).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE, type Browser } from '../support/browser.js';
import { METHOD_NAMES, startSignInDrivers, type SignInDriver, type SignInDrivers, type SignInIdentity } from '../support/sign-in-drivers.js';

/**
 * Spec 003: every sign-in method enforces bans, deletion, rate limits and the same session rules
 * identically. One app with every method configured; the same checks run over each method. Where
 * `guest` genuinely differs (no ceremony, the identity is the browser's cookie, no session list),
 * the check says so.
 */

/** Small, but above what any one browser uses in the other checks (each browser has its own address). */
const CHALLENGES_PER_CLIENT = 6;
const CHALLENGE_WINDOW_SECONDS = 600;

let world: SignInDrivers;
beforeAll(async () => {
  world = await startSignInDrivers({
    CHALLENGES_PER_CLIENT: String(CHALLENGES_PER_CLIENT),
    CHALLENGE_WINDOW_SECONDS: String(CHALLENGE_WINDOW_SECONDS),
    // Sessions stay cached for an hour: a ban or a deletion must reach them by eviction, not expiry.
    SESSION_CACHE_TTL_SECONDS: '3600',
  });
}, 60_000);
afterAll(() => world?.close(), 60_000);

/** A response body, read loosely: the checks themselves say what it must hold. */
type Json = Record<string, any>;

const errorBody = (code: string) => ({ code, message: expect.any(String), correlationId: expect.any(String) });
function expectError(response: LightMyRequestResponse, status: number, code: string): void {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual(errorBody(code));
}

function expectSignedIn(response: LightMyRequestResponse, isNewUser: boolean): string {
  expect(response.statusCode, response.body).toBe(200);
  expect(response.json()).toMatchObject({ isNewUser, profiles: [{ id: expect.any(String), isActive: true }] });
  expect(response.json().profiles).toHaveLength(1);
  return response.json().profiles[0].id;
}

/** No signed-in session was handed out: no live session cookie in the answer. */
const sessionCookieSet = (response: LightMyRequestResponse) =>
  response.cookies.some((cookie) => cookie.name === SESSION_COOKIE && cookie.value !== '');

/** GET /session with exactly one cookie (a copy kept from before), as a thief holding it would. */
async function sessionWithCookie(name: string, value: string | undefined): Promise<Json> {
  if (!value) throw new Error(`no ${name} cookie to present`);
  return (await world.test.app.inject({ method: 'GET', url: '/session', headers: { cookie: `${name}=${value}` } })).json();
}

const withBearer = (url: string, token: string) =>
  world.test.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

const admin = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
  world.test.app.inject({ method, url, headers: world.test.adminHeaders, ...(payload ? { payload } : {}) });

/** The person behind a persona, as trust & safety sees them. */
async function personBehind(personaId: string): Promise<{ persona: Json; accountability: Json }> {
  const response = await admin('GET', `/admin/personas/${personaId}`);
  expect(response.statusCode, response.body).toBe(200);
  return { persona: response.json().persona, accountability: response.json().person.accountability };
}

/** The account that acts as a persona (internal: inferred links are never shown publicly). */
async function accountActingAs(personaId: string): Promise<string> {
  const row = await world.test.database.db.selectFrom('persona_access').select('account_id').where('persona_id', '=', personaId).executeTakeFirstOrThrow();
  return row.account_id;
}

async function listedSessions(browser: Browser): Promise<Json[]> {
  const response = await browser.request('GET', '/api/v2/auth/sessions');
  expect(response.statusCode, response.body).toBe(200);
  return response.json().sessions;
}

/** A person signed in from one browser and (for methods with a ceremony) one API client. */
async function signedInPerson(method: SignInDriver, identity: SignInIdentity) {
  const browser = world.browser();
  const first = await method.signIn(identity, browser);
  const personaId = expectSignedIn(first, true);
  const displayName: string = first.json().profiles[0].name;
  // A guest's identity is its browser's cookie: an API client cannot carry it, so guests have no token here.
  const api = method.ceremony ? await method.signIn(identity, world.browser(), { client: 'api' }) : null;
  if (api) expectSignedIn(api, false);
  const accessToken: string | null = api?.json().accessToken ?? null;
  // Warm the session cache (miss, then hit), so what follows must evict it.
  for (let i = 0; i < 2; i++) {
    expect((await browser.session()).persona?.id).toBe(personaId);
    if (accessToken) expect((await withBearer('/session', accessToken)).statusCode).toBe(200);
  }
  return { browser, personaId, displayName, accessToken };
}

/** The browser's and the token's sessions no longer act as the person. */
async function expectSessionsEnded(browser: Browser, personaId: string, accessToken: string | null) {
  const session = await browser.session();
  expect(session.anonymous).toBe(true);
  expect(session.persona?.id).not.toBe(personaId);
  expect(browser.sessionCookie).toBeUndefined();
  if (accessToken) expectError(await withBearer('/session', accessToken), 401, 'TOKEN_INVALID');
}

describe.each(METHOD_NAMES)('sign-in with %s', (name) => {
  const method = () => world.driver(name);
  const isGuest = name === 'guest';

  it('signs a new person up with one active default persona, then the same identity back in to it', async () => {
    const identity = method().newIdentity();
    const browser = world.browser();
    const first = await method().signIn(identity, browser);
    const personaId = expectSignedIn(first, true);
    // A guest stays anonymous: its browser keeps anon_id and gets no signed-in session cookie.
    expect(sessionCookieSet(first)).toBe(!isGuest);
    expect(isGuest ? browser.anonCookie : browser.sessionCookie).toBeDefined();
    expect(await browser.session()).toMatchObject({ anonymous: isGuest, banned: false, persona: { id: personaId } });
    expect(personaId).toBe(expectSignedIn(await method().signIn(identity, browser), false));

    // API clients get tokens, and no cookie. A guest API client is a new anonymous identity of its own.
    const api = await method().signIn(method().ceremony ? identity : method().newIdentity(), world.browser(), { client: 'api' });
    const apiPersona = expectSignedIn(api, isGuest);
    expect(api.json()).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect(sessionCookieSet(api)).toBe(false);
    if (!isGuest) expect(apiPersona).toBe(personaId);
    const viaToken = await withBearer('/session', api.json().accessToken);
    expect(viaToken.statusCode, viaToken.body).toBe(200);
    expect(viaToken.json()).toMatchObject({ anonymous: isGuest, persona: { id: apiPersona } });
  });

  it('ends the session a browser had, and lists each sign-in\'s session', async () => {
    const browser = world.browser();
    const before = expectSignedIn(await method().signIn(method().newIdentity(), browser), true);
    if (isGuest) {
      // A guest has no signed-in session to end: its one session is the anon_id cookie itself, listed as such.
      const listed = await browser.request('GET', '/api/v2/auth/sessions');
      expect(listed.statusCode, listed.body).toBe(200);
      expect(listed.json().sessions).toEqual([expect.objectContaining({ client: 'browser', current: true })]);
      return;
    }
    const oldCookie = browser.sessionCookie;
    const identity = method().newIdentity();
    const personaId = expectSignedIn(await method().signIn(identity, browser), true);
    expect(personaId).not.toBe(before);
    const old = await sessionWithCookie(SESSION_COOKIE, oldCookie);
    expect(old.anonymous).toBe(true);
    expect(old.persona?.id).not.toBe(before);
    expect((await browser.session()).persona?.id).toBe(personaId);

    const api = await method().signIn(identity, world.browser(), { client: 'api' });
    expectSignedIn(api, false);
    const fromBrowser = await listedSessions(browser);
    expect(fromBrowser.map((session) => [session.client, session.current]).sort()).toEqual([['api', false], ['browser', true]]);
    const fromApi = await withBearer('/api/v2/auth/sessions', api.json().accessToken);
    expect(fromApi.json().sessions.map((session: Json) => session.id).sort()).toEqual(fromBrowser.map((session) => session.id).sort());
  });

  // Guest: signing in as a guest from a guest browser is the same guest; there is nothing to rotate or link.
  it.skipIf(isGuest)('rotates a guest browser\'s anon_id and links the guest internally, its persona unseen', async () => {
    const browser = world.browser();
    const guest = (await browser.request('POST', '/session')).json().persona;
    const oldAnon = browser.anonCookie;
    const response = await method().signIn(method().newIdentity(), browser);
    const personaId = expectSignedIn(response, true);

    expect(browser.anonCookie).toBeDefined();
    expect(browser.anonCookie).not.toBe(oldAnon);
    expect(await sessionWithCookie('anon_id', oldAnon)).toMatchObject({ started: false, persona: null });
    expect(await sessionWithCookie('anon_id', browser.anonCookie)).toMatchObject({ anonymous: true, persona: { id: guest.id } });

    const personas = (await browser.request('GET', '/personas')).json().personas.map((persona: Json) => persona.id);
    expect(personas).toEqual([personaId]);
    const links = await world.test.database.db.selectFrom('account_links').selectAll().where('to_account_id', '=', await accountActingAs(personaId)).execute();
    expect(links).toEqual([expect.objectContaining({ from_account_id: await accountActingAs(guest.id), kind: 'inferred' })]);
    expect(response.body).not.toContain('inferred');
  });

  // Guest: no challenge, no proof, nothing to replay.
  it.skipIf(isGuest)('refuses a proof presented a second time', async () => {
    const proof = await method().newIdentity().prove(world.browser());
    expectSignedIn(await method().present(proof, world.browser()), true);
    for (const client of ['browser', 'api'] as const) {
      const thief = world.browser();
      const replayed = await method().present(proof, thief, client);
      expectError(replayed, 400, 'CHALLENGE_INVALID');
      expect(thief.sessionCookie).toBeUndefined();
    }
  });

  it('a ban ends the person\'s sessions at once and refuses their next sign-in with ACCOUNT_SUSPENDED', async () => {
    const identity = method().newIdentity();
    const { browser, personaId, accessToken } = await signedInPerson(method(), identity);
    const banned = await admin('POST', '/admin/bans', { subject: { personaId }, reason: 'parity check' });
    expect(banned.statusCode, banned.body).toBe(200);

    if (isGuest) {
      // A guest session is the anonymous identity itself: it stays, carries the ban, and may do nothing.
      expect(await browser.session()).toMatchObject({ banned: true, persona: { id: personaId } });
      expectError(await browser.request('POST', '/session'), 403, 'BANNED');
    } else {
      await expectSessionsEnded(browser, personaId, accessToken);
    }

    const again = await method().signIn(identity, browser);
    expectError(again, 403, 'ACCOUNT_SUSPENDED');
    expect(sessionCookieSet(again)).toBe(false);
    expect(browser.sessionCookie).toBeUndefined();
    if (method().ceremony) expectError(await method().signIn(identity, world.browser(), { client: 'api' }), 403, 'ACCOUNT_SUSPENDED');
  });

  // Guest: there is no challenge to limit (POST /api/v2/auth/challenge has no guest strategy).
  it.skipIf(isGuest)(`limits challenges per client: the ${CHALLENGES_PER_CLIENT + 1}th in the window answers 429 with Retry-After`, async () => {
    const client = world.browser();
    for (let i = 0; i < CHALLENGES_PER_CLIENT; i++) expect((await method().challenge(client)).statusCode).toBe(200);
    const refused = await method().challenge(client);
    expectError(refused, 429, 'TOO_MANY_ATTEMPTS');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(CHALLENGE_WINDOW_SECONDS);
    // Per client: another address is not held back.
    expect((await method().challenge(world.browser())).statusCode).toBe(200);
  });

  it('deleting the identity ends every session and its personas; the method then signs up a new person', async () => {
    const identity = method().newIdentity();
    const { browser, personaId, displayName, accessToken } = await signedInPerson(method(), identity);
    const deleted = await browser.request('DELETE', '/api/v2/auth/identity');
    expect(deleted.statusCode, deleted.body).toBe(200);

    await expectSessionsEnded(browser, personaId, accessToken);
    // Trust & safety still finds the persona (it awaits its purge), anonymized and inactive.
    const { persona } = await personBehind(personaId);
    expect(persona).toMatchObject({ active: false, deletedAt: expect.any(String) });
    expect(displayName).toEqual(expect.any(String));
    expect(persona.displayName).not.toBe(displayName);

    identity.forgotten();
    const newPersona = expectSignedIn(await method().signIn(identity, browser), true);
    expect(newPersona).not.toBe(personaId);
    // A clean person's method carries nothing over.
    expect((await personBehind(newPersona)).accountability.riskLevel).toBe('LOW');
  });

  // Guest: left out by design (src/modules/accounts/retired-methods.ts). A guest identity is a cookie
  // that anyone can drop and get anew, so no mark can be tied to it beyond its life.
  it.skipIf(isGuest)('a risk mark survives deletion: whoever signs in with the method next inherits it', async () => {
    const identity = method().newIdentity();
    const { browser, personaId } = await signedInPerson(method(), identity);
    const { accountability: marked } = await personBehind(personaId);
    const raised = await admin('PUT', `/admin/people/${marked.accountabilityProfileId}/risk-level`, { riskLevel: 'HIGH' });
    expect(raised.statusCode, raised.body).toBe(200);
    const deleted = await browser.request('DELETE', '/api/v2/auth/identity');
    expect(deleted.statusCode, deleted.body).toBe(200);

    identity.forgotten();
    const newPersona = expectSignedIn(await method().signIn(identity, browser), true);
    expect(newPersona).not.toBe(personaId);
    const { accountability: heir } = await personBehind(newPersona);
    expect(heir.accountabilityProfileId).not.toBe(marked.accountabilityProfileId);
    expect(heir.riskLevel).toBe('HIGH');
  });
});

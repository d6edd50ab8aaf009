import { createServer } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, newPerson, SESSION_COOKIE } from '../support/browser.js';
import { IdpBrowser, startTestIdp, type IdpAccount, type TestIdp } from '../support/oidc-idp.js';

/**
 * Sign-in with OpenID Connect against real providers (oidc-provider) run in this test: one good
 * provider, a second one (for mix-up attacks), one that stamps ID tokens for another client, the
 * good one reached at an alias that names another issuer, and one that is down.
 */

const ORIGIN = 'https://id.example';
const REDIRECT_URI = `${ORIGIN}/api/v2/auth/social/callback`;
const CLIENT = { clientId: 'personae', clientSecret: 'a-client-secret-of-the-test-idp', redirectUris: [REDIRECT_URI] };

/** The victim of the takeover test: an address registered here with a password, and asserted by the provider. */
const victim = newPerson('victim');

let accountCounter = 0;
const accounts: IdpAccount[] = Array.from({ length: 24 }, () => ({ id: `user-${++accountCounter}`, password: `password-${accountCounter}` }));
const eve: IdpAccount = { id: 'eve', password: 'eve-password', email: victim.email };
let nextAccount = 0;
/** A person at the provider, with a browser of their own (so provider sessions never leak between tests). */
function person(): { account: IdpAccount; browser: IdpBrowser } {
  const account = accounts[nextAccount++];
  if (!account) throw new Error('out of test accounts');
  return { account, browser: new IdpBrowser({ login: account.id, password: account.password }) };
}

let idp: TestIdp;
let other: TestIdp;
let confused: TestIdp;
let test: TestApp;
let hasher: TokenHasher;

beforeAll(async () => {
  idp = await startTestIdp({ clients: [CLIENT], accounts: [...accounts, eve], aliasPath: '/alias' });
  other = await startTestIdp({ clients: [CLIENT], accounts: [{ id: 'mallory', password: 'mallory-password' }] });
  confused = await startTestIdp({ clients: [CLIENT], accounts: [{ id: 'trent', password: 'trent-password' }], idTokenAudience: 'another-client' });
  const providers = [
    { name: 'idp', issuer: idp.issuer },
    { name: 'other', issuer: other.issuer },
    { name: 'confused', issuer: confused.issuer },
    { name: 'alias', issuer: `${idp.issuer}/alias` },
    { name: 'down', issuer: `http://127.0.0.1:${await freePort()}` },
  ];
  test = await startTestApp({
    env: {
      PUBLIC_ORIGIN: ORIGIN,
      OIDC_PROVIDERS: JSON.stringify(providers.map((provider) => ({ ...provider, clientId: CLIENT.clientId, clientSecret: CLIENT.clientSecret }))),
    },
  });
  hasher = new TokenHasher(test.config.secrets.tokenHashKey);
}, 60_000);

afterAll(async () => {
  await test?.close();
  await Promise.all([idp?.close(), other?.close(), confused?.close()]);
}, 60_000);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface SocialChallenge {
  readonly authorizationUrl: string;
  readonly verificationId: string;
  readonly returnTo?: string;
  readonly correlationId: string;
}

function askChallenge(payload: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return test.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'social', ...payload } });
}

async function challenge(provider = 'idp', extra: Record<string, unknown> = {}): Promise<SocialChallenge> {
  const response = await askChallenge({ provider, ...extra });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

function authenticate(callbackUrl: string, verificationId: string, browser?: Browser, extra: Record<string, unknown> = {}) {
  const payload = { strategy: 'social', callbackUrl, verificationId, ...extra };
  return browser
    ? browser.request('POST', '/api/v2/auth/authenticate', payload)
    : test.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload });
}

/** The whole ceremony for one person: challenge, the provider's pages, the callback. */
async function signIn(who: { browser: IdpBrowser }, browser?: Browser): Promise<LightMyRequestResponse> {
  const started = await challenge();
  return authenticate(await who.browser.authorize(started.authorizationUrl), started.verificationId, browser);
}

function expectError(response: LightMyRequestResponse, status: number, code: string, reason?: RegExp) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: expect.any(String) });
  if (reason) expect(response.json().message).toMatch(reason);
}

function withParameters(url: string, changes: Record<string, string | null>): string {
  const changed = new URL(url);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) changed.searchParams.delete(name);
    else changed.searchParams.set(name, value);
  }
  return changed.href;
}

async function personasOf(browser: Browser): Promise<string[]> {
  const response = await browser.request('GET', '/personas');
  expect(response.statusCode, response.body).toBe(200);
  return (response.json().personas as Array<{ id: string }>).map((persona) => persona.id);
}

describe('POST /api/v2/auth/challenge {strategy: social}', () => {
  it('is offered', async () => {
    const response = await test.app.inject({ method: 'GET', url: '/api/v2/auth/strategies' });
    expect(response.json().strategies).toContain('social');
    // The web app draws one "Sign in with …" button per provider from this list.
    expect(response.json().socialProviders).toEqual(['idp', 'other', 'confused', 'alias', 'down']);
  });

  it("answers the provider's authorization URL and the verificationId to keep, and stores only a keyed hash of the state", async () => {
    const body = await challenge('idp', { returnTo: '/board/42?tab=new' });
    expect(Object.keys(body).sort()).toEqual(['authorizationUrl', 'correlationId', 'returnTo', 'verificationId']);
    expect(body.returnTo).toBe('/board/42?tab=new');
    expect(body.verificationId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const url = new URL(body.authorizationUrl);
    expect(url.origin).toBe(idp.issuer);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: 'personae',
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'openid',
      code_challenge_method: 'S256',
    });
    const state = url.searchParams.get('state') ?? '';
    const row = await test.database.db
      .selectFrom('verifications')
      .selectAll()
      .where('strategy', '=', 'social')
      .where('challenge_hash', '=', hasher.hash('challenge', `social:${state}`))
      .executeTakeFirstOrThrow();
    expect(row.consumed_at).toBeNull();
    const stored = JSON.stringify(row);
    for (const secret of [state, url.searchParams.get('nonce') ?? '', body.verificationId]) expect(stored).not.toContain(secret);
  });

  it('answers STRATEGY_UNAVAILABLE for a provider that is not configured', async () => {
    expectError(await askChallenge({ provider: 'nope' }), 400, 'STRATEGY_UNAVAILABLE');
  });

  it('answers STRATEGY_UNAVAILABLE for a provider that was down at start-up (the service itself started)', async () => {
    expectError(await askChallenge({ provider: 'down' }), 400, 'STRATEGY_UNAVAILABLE');
    expect((await askChallenge({ provider: 'idp' })).statusCode).toBe(200);
  });

  it('answers STRATEGY_UNAVAILABLE when discovery names another issuer than the one configured', async () => {
    // The same provider reached at another address: its document names its canonical issuer,
    // which openid-client refuses (RFC 8414 §3.3), so tokens it signs are never taken for `alias`'s.
    const direct = await fetch(`${idp.issuer}/alias/.well-known/openid-configuration`);
    expect(((await direct.json()) as { issuer: string }).issuer).toBe(idp.issuer);
    expectError(await askChallenge({ provider: 'alias' }), 400, 'STRATEGY_UNAVAILABLE');
  });

  it('refuses a returnTo that leaves this site, and fields it does not know', async () => {
    for (const returnTo of ['//evil.example/board', '/\\evil.example', 'https://evil.example/']) {
      expectError(await askChallenge({ provider: 'idp', returnTo }), 400, 'VALIDATION_FAILED');
    }
    expectError(await askChallenge({ provider: 'idp', email: victim.email }), 400, 'VALIDATION_FAILED');
  });
});

describe('POST /api/v2/auth/authenticate {strategy: social}', () => {
  it('signs in a new person first (isNewUser), then the same account and persona', async () => {
    const who = person();
    const browser = new Browser(test.app);
    const first = await signIn(who, browser);
    expect(first.statusCode, first.body).toBe(200);
    const body = first.json();
    expect(body).toEqual({
      isNewUser: true,
      profiles: [{ id: expect.any(String), name: expect.any(String), isActive: true, trustLevel: 'NEW', sessionWalletAddress: null }],
      correlationId: expect.any(String),
    });
    expect(browser.sessionCookie).toBeDefined();
    expect(await browser.session()).toMatchObject({ anonymous: false, persona: { id: body.profiles[0].id } });
    const account = await test.database.db
      .selectFrom('accounts')
      .select(['id', 'provider', 'verified'])
      .where('lookup_key', '=', hasher.hash('account', `social:${idp.issuer} ${who.account.id}`))
      .executeTakeFirstOrThrow();
    expect(account).toMatchObject({ provider: 'idp', verified: true });

    // The provider's session is still open: no prompt this time, the same person here.
    const again = await signIn(who, new Browser(test.app));
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ isNewUser: false, profiles: [{ id: body.profiles[0].id }] });
    expect(who.browser.prompts).toEqual(['login', 'consent']);
  });

  it('gives API clients tokens instead of a cookie', async () => {
    const who = person();
    const started = await challenge();
    const response = await authenticate(await who.browser.authorize(started.authorizationUrl), started.verificationId, undefined, { client: 'api' });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ isNewUser: true, tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect(response.cookies.find((cookie) => cookie.name === SESSION_COOKIE)).toBeUndefined();
  });

  it('answers CHALLENGE_INVALID for a state it never issued, or none', async () => {
    const who = person();
    const started = await challenge();
    const callbackUrl = await who.browser.authorize(started.authorizationUrl);
    const forged = withParameters(callbackUrl, { state: 'A'.repeat(43) });
    expectError(await authenticate(forged, started.verificationId), 400, 'CHALLENGE_INVALID');
    expectError(await authenticate(withParameters(callbackUrl, { state: null }), started.verificationId), 400, 'CHALLENGE_INVALID');
    expectError(await authenticate(withParameters(callbackUrl, { state: 'short' }), started.verificationId), 400, 'CHALLENGE_INVALID');
  });

  it('takes a callback once: the same URL again answers CHALLENGE_INVALID', async () => {
    const who = person();
    const started = await challenge();
    const callbackUrl = await who.browser.authorize(started.authorizationUrl);
    expect((await authenticate(callbackUrl, started.verificationId)).statusCode).toBe(200);
    const tokenRequests = idp.tokenRequests;
    expectError(await authenticate(callbackUrl, started.verificationId), 400, 'CHALLENGE_INVALID');
    expect(idp.tokenRequests).toBe(tokenRequests); // refused before the code went anywhere
  });

  it('takes a callback once even when it arrives several times at once', async () => {
    const who = person();
    const started = await challenge();
    const callbackUrl = await who.browser.authorize(started.authorizationUrl);
    const answers = await Promise.all(Array.from({ length: 5 }, () => authenticate(callbackUrl, started.verificationId)));
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 400, 400, 400, 400]);
    for (const answer of answers.filter((one) => one.statusCode === 400)) expectError(answer, 400, 'CHALLENGE_INVALID');
  });

  it('answers CHALLENGE_INVALID once the challenge has expired', async () => {
    const who = person();
    const started = await challenge();
    const callbackUrl = await who.browser.authorize(started.authorizationUrl);
    const state = new URL(callbackUrl).searchParams.get('state') ?? '';
    await test.database.db
      .updateTable('verifications')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('challenge_hash', '=', hasher.hash('challenge', `social:${state}`))
      .execute();
    expectError(await authenticate(callbackUrl, started.verificationId), 400, 'CHALLENGE_INVALID');
  });

  it('refuses a callback to another path or origin than its redirect_uri, without spending the challenge', async () => {
    const who = person();
    const started = await challenge();
    const callbackUrl = await who.browser.authorize(started.authorizationUrl);
    const search = new URL(callbackUrl).search;
    for (const elsewhere of [`${ORIGIN}/api/v2/auth/social/callback/evil${search}`, `${ORIGIN}/callback${search}`, `https://evil.example/api/v2/auth/social/callback${search}`]) {
      expectError(await authenticate(elsewhere, started.verificationId), 400, 'VALIDATION_FAILED');
    }
    expect((await authenticate(callbackUrl, started.verificationId)).statusCode).toBe(200);
  });

  it("refuses someone else's callback URL (a leaked URL, login CSRF): the starter's verificationId is missing", async () => {
    const who = person();
    const victimStart = await challenge();
    const callbackUrl = await who.browser.authorize(victimStart.authorizationUrl);
    const attackerStart = await challenge();
    const tokenRequests = idp.tokenRequests;
    expectError(await authenticate(callbackUrl, attackerStart.verificationId), 401, 'PROOF_INVALID', /another browser/);
    expect(idp.tokenRequests).toBe(tokenRequests);
    // The attempt spent the challenge: the code can no longer be redeemed here by anyone.
    expectError(await authenticate(callbackUrl, victimStart.verificationId), 400, 'CHALLENGE_INVALID');
  });

  it('refuses an ID token whose nonce is not this sign-in’s (the nonce was changed on the way to the provider)', async () => {
    // Everything else is genuine: the state is ours and the code is bound to our PKCE challenge,
    // so the provider redeems it; only the ID token's nonce differs, and openid-client refuses it.
    const who = person();
    const started = await challenge();
    const tampered = withParameters(started.authorizationUrl, { nonce: 'a-nonce-chosen-by-someone-else-0123456789ab' });
    const callbackUrl = await who.browser.authorize(tampered);
    const tokenRequests = idp.tokenRequests;
    expectError(await authenticate(callbackUrl, started.verificationId), 401, 'PROOF_INVALID', /nonce/);
    expect(idp.tokenRequests).toBe(tokenRequests + 1);
  });

  it("refuses one sign-in's code presented with another sign-in's state: PKCE ties the code to its own challenge", async () => {
    const who = person();
    const first = await challenge();
    const second = await challenge();
    const callbackUrl = await who.browser.authorize(first.authorizationUrl);
    const secondState = new URL(second.authorizationUrl).searchParams.get('state') ?? '';
    const swapped = withParameters(callbackUrl, { state: secondState });
    expectError(await authenticate(swapped, second.verificationId), 401, 'PROOF_INVALID', /authorization code \(invalid_grant\)/);
  });

  it('refuses a code whose PKCE challenge was replaced on the way to the provider', async () => {
    const who = person();
    const started = await challenge();
    const otherChallenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
    const callbackUrl = await who.browser.authorize(withParameters(started.authorizationUrl, { code_challenge: otherChallenge }));
    expectError(await authenticate(callbackUrl, started.verificationId), 401, 'PROOF_INVALID', /invalid_grant/);
  });

  it("refuses another provider's code presented with this provider's state (mix-up), with or without its iss", async () => {
    const atIdp = await challenge('idp');
    const atOther = await challenge('other');
    const mallory = new IdpBrowser({ login: 'mallory', password: 'mallory-password' });
    const otherCallback = await mallory.authorize(atOther.authorizationUrl);
    expect(new URL(otherCallback).searchParams.get('iss')).toBe(other.issuer);
    const idpState = new URL(atIdp.authorizationUrl).searchParams.get('state') ?? '';
    const tokenRequests = idp.tokenRequests;
    expectError(await authenticate(withParameters(otherCallback, { state: idpState }), atIdp.verificationId), 401, 'PROOF_INVALID', /not valid for this provider/);

    const again = await challenge('idp');
    const againState = new URL(again.authorizationUrl).searchParams.get('state') ?? '';
    const stripped = withParameters(otherCallback, { state: againState, iss: null });
    expectError(await authenticate(stripped, again.verificationId), 401, 'PROOF_INVALID');
    expect(idp.tokenRequests).toBe(tokenRequests); // the foreign code was never sent to idp
  });

  it('refuses an ID token issued for another client (wrong audience)', async () => {
    const started = await challenge('confused');
    const callbackUrl = await new IdpBrowser({ login: 'trent', password: 'trent-password' }).authorize(started.authorizationUrl);
    expectError(await authenticate(callbackUrl, started.verificationId), 401, 'PROOF_INVALID', /audience/);
  });

  it("answers PROOF_INVALID when the person refuses at the provider, without repeating the provider's text", async () => {
    const account = accounts[nextAccount++] as IdpAccount;
    const started = await challenge();
    const refusing = new IdpBrowser({ login: account.id, password: account.password }, true);
    const callbackUrl = await refusing.authorize(started.authorizationUrl);
    expect(new URL(callbackUrl).searchParams.get('error')).toBe('access_denied');
    const response = await authenticate(callbackUrl, started.verificationId);
    expectError(response, 401, 'PROOF_INVALID', /did not authorize it \(access_denied\)/);
    expect(response.body).not.toContain('aborted');
  });

  it('refuses a proof without the verificationId or with fields it does not know', async () => {
    const started = await challenge();
    const callbackUrl = withParameters(REDIRECT_URI, { code: 'x', state: new URL(started.authorizationUrl).searchParams.get('state') });
    const missing = await test.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload: { strategy: 'social', callbackUrl } });
    expectError(missing, 400, 'VALIDATION_FAILED');
    expectError(await authenticate(callbackUrl, started.verificationId, undefined, { email: victim.email }), 400, 'VALIDATION_FAILED');
  });
});

describe('an email the provider asserts, registered here by someone else (takeover)', () => {
  it('the provider really releases that email in its ID token', async () => {
    const configuration = await oidc.discovery(new URL(idp.issuer), CLIENT.clientId, CLIENT.clientSecret, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callbackUrl = await new IdpBrowser({ login: eve.id, password: eve.password }).authorize(url.href);
    const tokens = await oidc.authorizationCodeGrant(configuration, new URL(callbackUrl), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ sub: eve.id, email: victim.email, email_verified: true });
  });

  it('does not capture the account registered with that email: the social sign-in is a new person', async () => {
    const owner = new Browser(test.app);
    const registered = await owner.register(victim);
    expect(registered.statusCode, registered.body).toBe(201);
    const ownerPersonas = await personasOf(owner);
    expect(ownerPersonas).toContain(registered.json().personaId);

    const social = new Browser(test.app);
    const response = await signIn({ browser: new IdpBrowser({ login: eve.id, password: eve.password }) }, social);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().isNewUser).toBe(true);
    const socialPersonas = await personasOf(social);
    expect(socialPersonas).toHaveLength(1);
    expect(ownerPersonas).not.toContain(socialPersonas[0]);
    expect(await personasOf(owner)).toEqual(ownerPersonas);
  });
});

describe('logs', () => {
  it('never carry a code, a state, a verificationId or the asserted email', async () => {
    const who = person();
    const started = await challenge();
    const callbackUrl = await who.browser.authorize(started.authorizationUrl);
    expect((await authenticate(callbackUrl, started.verificationId)).statusCode).toBe(200);
    const parameters = new URL(callbackUrl).searchParams;
    const logs = test.logs.join('\n');
    for (const secret of [parameters.get('code') ?? '', parameters.get('state') ?? '', started.verificationId, victim.email]) {
      expect(logs).not.toContain(secret);
    }
  });
});

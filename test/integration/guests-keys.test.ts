import { createHash } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { PrivateKeyAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { didKeyOf } from '../../src/auth/key/did-key.js';
import { holochainAgentKeyOf } from '../../src/auth/key/holochain-agent-key.js';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { newKeyPair, rawPublicKey, signKeyChallenge, type TestKeyPair } from '../support/key-signer.js';
import { newWallet, signWalletChallenge } from '../support/wallet-signer.js';

interface GraphAccount {
  ref: string;
  type: string;
  identifier: string;
  current: boolean;
  did: string | null;
  agentPubKey: string | null;
  keyHash: string | null;
}
interface GraphProfile {
  id: string;
  displayName: string;
  handle: string | null;
  publicKeyHash: string | null;
  keyHash: string | null;
}
interface Graph {
  accounts: GraphAccount[];
  links: unknown[];
  profiles: GraphProfile[];
}

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp({ env: { PUBLIC_ORIGIN: 'https://id.example.test' } });
}, 60_000);
afterAll(() => test?.close());

const db = () => test.database.db;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token?: string, payload?: object) =>
  test.app.inject({ method, url, ...(payload ? { payload } : {}), headers: token ? { authorization: `Bearer ${token}` } : {} });

function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: expect.any(String) });
}

async function keyProof(pair: TestKeyPair, purpose = 'sign-in', token?: string) {
  const challenge = (await call('POST', '/api/v2/auth/challenge', token, { strategy: 'key', publicKey: pair.publicKey, purpose })).json();
  return signKeyChallenge(challenge, pair);
}
async function walletProof(account: PrivateKeyAccount, purpose = 'sign-in', token?: string) {
  const challenge = (await call('POST', '/api/v2/auth/challenge', token, { strategy: 'wallet', purpose })).json();
  return signWalletChallenge(challenge, account);
}
/** Signs in as an API client: the access token and the default persona. */
async function signIn(proof: object): Promise<{ token: string; personaId: string }> {
  const response = await call('POST', '/api/v2/auth/authenticate', undefined, { ...proof, client: 'api' });
  expect(response.statusCode, response.body).toBe(200);
  return { token: response.json().accessToken, personaId: response.json().profiles[0].id };
}
async function apiGuest(): Promise<{ accessToken: string; refreshToken: string; personaId: string }> {
  const response = await call('POST', '/api/v2/auth/authenticate', undefined, { strategy: 'guest', client: 'api' });
  expect(response.statusCode, response.body).toBe(200);
  return { ...response.json(), personaId: response.json().profiles[0].id };
}
async function graphWith(request: () => Promise<LightMyRequestResponse>): Promise<Graph> {
  const response = await request();
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}
/** No internal id of any account or person in a body. */
async function expectNoInternalIds(body: string) {
  const accounts = await db().selectFrom('accounts').select(['id', 'accountability_profile_id']).execute();
  for (const row of accounts) {
    expect(body).not.toContain(row.id);
    expect(body).not.toContain(row.accountability_profile_id);
  }
  const sessions = await db().selectFrom('sessions').select('id').execute();
  for (const row of sessions) expect(body).not.toContain(row.id);
}

describe('guests are accounts: their identity graph', () => {
  it('a browser guest sees itself and its persona, nothing else; an API guest too', async () => {
    const visitor = new Visitor(test.app);
    const started = await visitor.start();
    const response = await visitor.request('GET', '/api/v2/auth/identity-graph');
    expect(response.statusCode, response.body).toBe(200);
    const graph: Graph = response.json();
    expect(graph.accounts).toEqual([
      expect.objectContaining({ type: 'guest', identifier: 'guest', current: true, privacyMode: 'linked', did: null, agentPubKey: null, keyHash: null }),
    ]);
    expect(graph.links).toEqual([]);
    expect(graph.profiles).toEqual([
      { id: started.persona.id, displayName: started.persona.displayName, handle: null, publicKeyHash: null, keyHash: null },
    ]);
    await expectNoInternalIds(response.body);
    expect(response.body).not.toContain(visitor.token.split('.')[0]);

    const api = await apiGuest();
    const viaToken = await graphWith(() => call('GET', '/api/v2/auth/identity-graph', api.accessToken));
    expect(viaToken.accounts).toEqual([expect.objectContaining({ type: 'guest', current: true })]);
    expect(viaToken.profiles.map((profile) => profile.id)).toEqual([api.personaId]);
  });

  it('never shows the inferred link of a guest that signed in: to neither side', async () => {
    const browser = new Browser(test.app);
    const guest = await browser.request('POST', '/api/v2/auth/authenticate', { strategy: 'guest' });
    const guestPersona = guest.json().profiles[0].id;
    const signedIn = await browser.request('POST', '/api/v2/auth/authenticate', await keyProof(newKeyPair()));
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    const anon = browser.anonCookie as string; // rotated by the sign-in; still the guest's
    const inferred = await db().selectFrom('account_links').select('kind').where('kind', '=', 'inferred').execute();
    expect(inferred.length).toBeGreaterThan(0);

    const person = await graphWith(() => browser.request('GET', '/api/v2/auth/identity-graph'));
    expect(person.accounts.map((account) => account.type)).toEqual(['key']);
    expect(person.links).toEqual([]);
    expect(person.profiles.map((profile) => profile.id)).not.toContain(guestPersona);

    const cookieOnly = await graphWith(() => test.app.inject({ method: 'GET', url: '/api/v2/auth/identity-graph', headers: { cookie: `anon_id=${anon}` } }));
    expect(cookieOnly.accounts.map((account) => account.type)).toEqual(['guest']);
    expect(cookieOnly.links).toEqual([]);
    expect(cookieOnly.profiles.map((profile) => profile.id)).toEqual([guestPersona]);
  });

  it('a guest still cannot link, change a privacy mode or unlink: those belong to a signed-in person', async () => {
    const visitor = new Visitor(test.app);
    await visitor.start();
    const api = await apiGuest();
    const wallet = newWallet();
    const { strategy: _strategy, ...proof } = await walletProof(wallet);
    const attempts = [
      ['POST', '/api/v2/auth/link-accounts', { targetType: 'wallet', proof }],
      ['POST', '/api/v2/auth/link-accounts', { targetType: 'guest' }],
      ['PUT', '/api/v2/auth/link-privacy', { privacyMode: 'isolated' }],
      ['DELETE', `/api/v2/auth/accounts/${'A'.repeat(22)}`, undefined],
    ] as const;
    for (const [method, url, payload] of attempts) {
      expectError(await visitor.request(method, url, payload), 401, 'SESSION_REQUIRED');
      expectError(await call(method, url, api.accessToken, payload), 401, 'SESSION_REQUIRED');
    }
    // Nothing changed: the wallet belongs to nobody, the guest is alone.
    const walletAccounts = await db().selectFrom('accounts').select('id').where('type', '=', 'wallet').execute();
    expect(walletAccounts).toEqual([]);
    expect((await graphWith(() => visitor.request('GET', '/api/v2/auth/identity-graph'))).accounts).toHaveLength(1);
  });

  it('a visitor with no identity yet gets 401 SESSION_REQUIRED and none is started', async () => {
    const before = await db().selectFrom('accounts').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expectError(await test.app.inject({ method: 'GET', url: '/api/v2/auth/identity-graph' }), 401, 'SESSION_REQUIRED');
    const after = await db().selectFrom('accounts').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });
});

describe('guests are accounts: their sessions', () => {
  it('a browser guest lists its one session, which it cannot end; it has no others', async () => {
    const visitor = new Visitor(test.app);
    await visitor.start();
    const listed = await visitor.request('GET', '/api/v2/auth/sessions');
    expect(listed.statusCode, listed.body).toBe(200);
    const [session, ...others] = listed.json().sessions;
    expect(others).toEqual([]);
    expect(session).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), deviceLabel: null, client: 'browser', createdAt: expect.any(String), lastSeenAt: expect.any(String), current: true });
    await expectNoInternalIds(listed.body);

    expectError(await visitor.request('DELETE', `/api/v2/auth/sessions/${session.id}`), 409, 'GUEST_SESSION_PERMANENT');
    expect((await visitor.request('POST', '/api/v2/auth/sessions/revoke-others')).json()).toMatchObject({ revoked: 0 });
    expectError(await visitor.request('DELETE', `/api/v2/auth/sessions/${'a'.repeat(32)}`), 404, 'SESSION_NOT_FOUND');
    // Still the same guest, still working.
    expect((await visitor.request('GET', '/api/v2/auth/sessions')).json().sessions.map((s: { id: string }) => s.id)).toEqual([session.id]);
    expect((await visitor.request('GET', '/session')).json()).toMatchObject({ started: true, anonymous: true });
  });

  it('an API guest lists its session as an API one and may end it (its sign-out): the tokens stop working, the account stays', async () => {
    const guest = await apiGuest();
    const [session, ...others] = (await call('GET', '/api/v2/auth/sessions', guest.accessToken)).json().sessions;
    expect(others).toEqual([]);
    expect(session).toMatchObject({ client: 'api', current: true, deviceLabel: null });
    const other = await apiGuest();
    const otherId = (await call('GET', '/api/v2/auth/sessions', other.accessToken)).json().sessions[0].id;
    expectError(await call('DELETE', `/api/v2/auth/sessions/${otherId}`, guest.accessToken), 404, 'SESSION_NOT_FOUND');

    const ended = await call('DELETE', `/api/v2/auth/sessions/${session.id}`, guest.accessToken);
    expect(ended.statusCode, ended.body).toBe(200);
    expect(ended.json()).toEqual({ revoked: 1, correlationId: expect.any(String) });
    expectError(await call('GET', '/session', guest.accessToken), 401, 'TOKEN_INVALID');
    expect((await call('POST', '/api/v2/auth/refresh', undefined, { refreshToken: guest.refreshToken })).statusCode).toBe(401);
    const event = await db().selectFrom('outbox').select('payload').where('type', '=', 'SessionRevoked').execute();
    expect(event.some((row) => row.payload.reason === 'user')).toBe(true);
    // The identity itself is kept (a ban on it would stay with it); the other guest is untouched.
    const persona = await db().selectFrom('personas').select('id').where('id', '=', guest.personaId).executeTakeFirst();
    expect(persona).toBeDefined();
    expect((await call('GET', '/session', other.accessToken)).statusCode).toBe(200);
  });

  it('a signed-in person never sees the sessions of a guest identity they came from', async () => {
    const browser = new Browser(test.app);
    await browser.request('POST', '/session');
    const guestSession = (await browser.request('GET', '/api/v2/auth/sessions')).json().sessions[0].id;
    const signedIn = await browser.request('POST', '/api/v2/auth/authenticate', await keyProof(newKeyPair()));
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    const mine = (await browser.request('GET', '/api/v2/auth/sessions')).json().sessions.map((s: { id: string }) => s.id);
    expect(mine).toHaveLength(1);
    expect(mine).not.toContain(guestSession);
  });
});

describe('keys in the identity graph (spec 004 phases 1–2)', () => {
  it('shows a key method\'s did:key, Holochain AgentPubKey and key hash; a handle claimed afterwards carries the key hash', async () => {
    const pair = newKeyPair();
    const raw = rawPublicKey(pair);
    const person = await signIn(await keyProof(pair));
    const claimed = await call('PUT', `/personas/${person.personaId}/handle`, person.token, { handle: 'keyed_first' });
    expect(claimed.statusCode, claimed.body).toBe(200);

    const response = await call('GET', '/api/v2/auth/identity-graph', person.token);
    const graph: Graph = response.json();
    const [key] = graph.accounts;
    expect(key).toMatchObject({ type: 'key', did: didKeyOf(raw), agentPubKey: holochainAgentKeyOf(raw), keyHash: sha256(raw) });
    expect(key?.did).toMatch(/^did:key:z6Mk/);
    expect(key?.agentPubKey).toMatch(/^uhCAk/);
    expect(graph.profiles).toEqual([
      expect.objectContaining({ id: person.personaId, handle: 'keyed_first', publicKeyHash: claimed.json().publicKeyHash, keyHash: sha256(raw) }),
    ]);
    const row = await db().selectFrom('user_identities').select(['public_key_hash', 'key_hash']).where('handle', '=', 'keyed_first').executeTakeFirstOrThrow();
    expect(row).toEqual({ public_key_hash: claimed.json().publicKeyHash, key_hash: sha256(raw) });
    await expectNoInternalIds(response.body);
  });

  it('records the key hash on handles claimed before the key was linked; other methods show no key', async () => {
    const wallet = newWallet();
    const person = await signIn(await walletProof(wallet));
    expect((await call('PUT', `/personas/${person.personaId}/handle`, person.token, { handle: 'wallet_then_key' })).statusCode).toBe(200);
    const before = await db().selectFrom('user_identities').select('key_hash').where('handle', '=', 'wallet_then_key').executeTakeFirstOrThrow();
    expect(before.key_hash).toBeNull();

    const pair = newKeyPair();
    const { strategy: _strategy, ...proof } = await keyProof(pair, 'link', person.token);
    const linked = await call('POST', '/api/v2/auth/link-accounts', person.token, { targetType: 'key', proof });
    expect(linked.statusCode, linked.body).toBe(200);
    const graph: Graph = linked.json();
    const raw = rawPublicKey(pair);
    expect(graph.accounts.find((account) => account.type === 'wallet')).toMatchObject({ did: null, agentPubKey: null, keyHash: null });
    expect(graph.accounts.find((account) => account.type === 'key')).toMatchObject({ did: didKeyOf(raw), agentPubKey: holochainAgentKeyOf(raw), keyHash: sha256(raw) });
    expect(graph.profiles.find((profile) => profile.handle === 'wallet_then_key')?.keyHash).toBe(sha256(raw));
    const after = await db().selectFrom('user_identities').select('key_hash').where('handle', '=', 'wallet_then_key').executeTakeFirstOrThrow();
    expect(after.key_hash).toBe(sha256(raw));

    // Unlinked, the key leaves the handle: whoever holds it next must not seem to be this person.
    const keyRef = graph.accounts.find((account) => account.type === 'key')?.ref;
    const unlinked = await call('DELETE', `/api/v2/auth/accounts/${keyRef}`, person.token);
    expect(unlinked.statusCode, unlinked.body).toBe(200);
    expect((unlinked.json() as Graph).profiles.find((profile) => profile.handle === 'wallet_then_key')?.keyHash).toBeNull();
    const gone = await db().selectFrom('user_identities').select(['key_hash', 'public_key_hash']).where('handle', '=', 'wallet_then_key').executeTakeFirstOrThrow();
    expect(gone.key_hash).toBeNull();
    expect(gone.public_key_hash).toMatch(/^[0-9a-f]{64}$/); // the spec 004 placeholder never changes
  });

  it('records the key hash on a guest\'s handle when a key person brings the guest along', async () => {
    const visitor = new Visitor(test.app);
    const { persona } = await visitor.start();
    expect((await visitor.request('PUT', `/personas/${persona.id}/handle`, { handle: 'guest_then_merged' })).statusCode).toBe(200);
    const pair = newKeyPair();
    const person = await signIn(await keyProof(pair));
    const merged = await test.app.inject({
      method: 'POST',
      url: '/api/v2/auth/link-accounts',
      payload: { targetType: 'guest' },
      headers: { authorization: `Bearer ${person.token}`, cookie: `anon_id=${visitor.cookie}` },
    });
    expect(merged.statusCode, merged.body).toBe(200);
    const graph: Graph = merged.json();
    expect(graph.accounts.map((account) => account.type)).toEqual(['key']);
    expect(graph.profiles.find((profile) => profile.id === persona.id)).toMatchObject({ handle: 'guest_then_merged', keyHash: sha256(rawPublicKey(pair)) });
    const row = await db().selectFrom('user_identities').select('key_hash').where('handle', '=', 'guest_then_merged').executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(sha256(rawPublicKey(pair)));
  });
});

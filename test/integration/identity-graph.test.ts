import type { PrivateKeyAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { databaseKind } from '../support/database.js';
import { newKeyPair, signKeyChallenge, type TestKeyPair } from '../support/key-signer.js';
import { newWallet, signWalletChallenge } from '../support/wallet-signer.js';

const ORIGIN = 'https://id.example.test';

describe('identity graph: linking, privacy modes, step-up, unlinking (spec 003)', () => {
  let test: TestApp;
  beforeAll(async () => {
    test = await startTestApp({ env: { PUBLIC_ORIGIN: ORIGIN } });
  }, 60_000);
  afterAll(() => test?.close());

  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token?: string, payload?: object) =>
    test.app.inject({ method, url, ...(payload ? { payload } : {}), headers: token ? { authorization: `Bearer ${token}` } : {} });

  /** A ceremony's proof; linking and step-up ceremonies are asked for by the signed-in person (`token`). */
  async function keyProof(pair: TestKeyPair, purpose = 'sign-in', token?: string) {
    const challenge = (await call('POST', '/api/v2/auth/challenge', token, { strategy: 'key', publicKey: pair.publicKey, purpose })).json();
    return signKeyChallenge(challenge, pair);
  }
  async function walletProof(account: PrivateKeyAccount, purpose = 'sign-in', token?: string) {
    const challenge = (await call('POST', '/api/v2/auth/challenge', token, { strategy: 'wallet', purpose })).json();
    return signWalletChallenge(challenge, account);
  }
  /** Signs in as an API client; answers the access token and the profiles. */
  async function signIn(proof: object): Promise<{ token: string; isNewUser: boolean; profiles: Array<{ id: string; name: string }> }> {
    const response = await call('POST', '/api/v2/auth/authenticate', undefined, { ...proof, client: 'api' });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    return { token: body.accessToken, isNewUser: body.isNewUser, profiles: body.profiles };
  }
  const linkWallet = async (token: string, account: PrivateKeyAccount, privacyMode = 'linked') => {
    const { strategy: _strategy, ...proof } = await walletProof(account, 'link', token);
    return call('POST', '/api/v2/auth/link-accounts', token, { targetType: 'wallet', targetIdentifier: account.address, privacyMode, proof });
  };
  const profileIds = async (proof: object) => (await signIn(proof)).profiles.map((profile) => profile.id).sort();

  it('links a proven wallet to a key person: both see every persona, the graph shows masked methods only', async () => {
    const pair = newKeyPair();
    const wallet = newWallet();
    const person = await signIn(await keyProof(pair));
    expect(person.isNewUser).toBe(true);
    const linked = await linkWallet(person.token, wallet);
    expect(linked.statusCode, linked.body).toBe(200);
    const graph = linked.json();
    expect(graph.accounts.map((account: { type: string }) => account.type).sort()).toEqual(['key', 'wallet']);
    const walletView = graph.accounts.find((account: { type: string }) => account.type === 'wallet');
    expect(walletView.identifier).toBe(`${wallet.address.toLowerCase().slice(0, 4)}…${wallet.address.toLowerCase().slice(-4)}`);
    expect(graph.links).toEqual([expect.objectContaining({ linkType: 'direct', privacyMode: 'linked' })]);
    expect(linked.body).not.toContain(wallet.address.toLowerCase());
    const ids = await test.database.db.selectFrom('accounts').select(['id', 'accountability_profile_id']).execute();
    for (const row of ids) expect(linked.body).not.toContain(row.id);

    // The wallet signs in to the same person and acts as the key's persona.
    const viaWallet = await signIn(await walletProof(wallet));
    expect(viaWallet.isNewUser).toBe(false);
    expect(viaWallet.profiles.map((profile) => profile.id)).toEqual(person.profiles.map((profile) => profile.id));
  });

  it('applies each privacy mode: linked sees all, partial its own plus the chosen, isolated only its own', async () => {
    const pair = newKeyPair();
    const wallet = newWallet();
    const person = await signIn(await keyProof(pair));
    expect((await linkWallet(person.token, wallet)).statusCode).toBe(200);
    const viaWallet = await signIn(await walletProof(wallet));
    const made = await call('POST', '/personas', viaWallet.token, { displayName: `Wallet persona ${Date.now().toString(36)}` });
    expect(made.statusCode, made.body).toBe(201);
    const keyPersona = person.profiles[0]!.id;
    const walletPersona = made.json().persona.id;
    expect(await profileIds(await keyProof(pair))).toEqual([keyPersona, walletPersona].sort());

    // isolated: the wallet keeps only its own persona, and the key no longer sees it.
    const walletRef = (await call('GET', '/api/v2/auth/identity-graph', viaWallet.token)).json().accounts.find((a: { current: boolean }) => a.current).ref;
    expect((await call('PUT', '/api/v2/auth/link-privacy', viaWallet.token, { privacyMode: 'isolated' })).statusCode).toBe(200);
    expect(await profileIds(await walletProof(wallet))).toEqual([walletPersona]);
    expect(await profileIds(await keyProof(pair))).toEqual([keyPersona]);
    // An isolated method sees only itself in the graph, and the others do not see it.
    const keySession = await signIn(await keyProof(pair));
    expect((await call('GET', '/api/v2/auth/identity-graph', keySession.token)).json().accounts).toHaveLength(1);
    // A method the caller cannot see cannot be named.
    expect((await call('PUT', '/api/v2/auth/link-privacy', keySession.token, { account: walletRef, privacyMode: 'linked' })).json().code).toBe('ACCOUNT_NOT_FOUND');

    // partial: back to sharing, the key chooses nothing of the wallet's, the wallet chooses the key's persona.
    const walletSession = await signIn(await walletProof(wallet));
    expect((await call('PUT', '/api/v2/auth/link-privacy', walletSession.token, { privacyMode: 'partial', profileIds: [keyPersona] })).statusCode).toBe(200);
    const keySession2 = await signIn(await keyProof(pair));
    expect((await call('PUT', '/api/v2/auth/link-privacy', keySession2.token, { privacyMode: 'partial', profileIds: [] })).statusCode).toBe(200);
    expect(await profileIds(await walletProof(wallet))).toEqual([keyPersona, walletPersona].sort());
    expect(await profileIds(await keyProof(pair))).toEqual([keyPersona]);
    // A selection may not name someone else's persona.
    const stranger = await signIn(await keyProof(newKeyPair()));
    const refused = await call('PUT', '/api/v2/auth/link-privacy', keySession2.token, { privacyMode: 'partial', profileIds: [stranger.profiles[0]!.id] });
    expect(refused.json().code).toBe('VALIDATION_FAILED');
  });

  it('refuses an identity owned by another person with a conflict that names nobody', async () => {
    const wallet = newWallet();
    const owner = await signIn(await walletProof(wallet));
    const other = await signIn(await keyProof(newKeyPair()));
    const response = await linkWallet(other.token, wallet);
    expect(response.statusCode).toBe(409);
    expect(response.json().code).toBe('IDENTITY_TAKEN');
    expect(response.body).not.toContain(owner.profiles[0]!.id);
    expect(response.body).not.toContain(owner.profiles[0]!.name);
    // The owner keeps it.
    expect((await signIn(await walletProof(wallet))).profiles[0]!.id).toBe(owner.profiles[0]!.id);
  });

  it('needs the target\'s own proof, matching targetIdentifier', async () => {
    const person = await signIn(await keyProof(newKeyPair()));
    const wallet = newWallet();
    const { strategy: _s, ...proof } = await walletProof(wallet, 'link', person.token);
    const mismatch = await call('POST', '/api/v2/auth/link-accounts', person.token, { targetType: 'wallet', targetIdentifier: newWallet().address, proof });
    expect(mismatch.json().code).toBe('IDENTIFIER_MISMATCH');
    const noProof = await call('POST', '/api/v2/auth/link-accounts', person.token, { targetType: 'wallet', targetIdentifier: wallet.address });
    expect(noProof.statusCode).toBe(400);
    const unauthenticated = await call('POST', '/api/v2/auth/link-accounts', undefined, { targetType: 'wallet', proof });
    expect(unauthenticated.statusCode).toBe(401);
  });

  it('needs a fresh strong sign-in: an old session steps up first', async () => {
    const pair = newKeyPair();
    const person = await signIn(await keyProof(pair));
    await test.database.db.updateTable('sessions').set({ authenticated_at: new Date(Date.now() - 3600_000) }).execute();
    const stale = await linkWallet(person.token, newWallet());
    expect(stale.statusCode).toBe(403);
    expect(stale.json().code).toBe('STEP_UP_REQUIRED');
    // Someone else's key does not step this session up.
    const foreign = await call('POST', '/api/v2/auth/step-up', person.token, await keyProof(newKeyPair(), 'step-up', person.token));
    expect(foreign.json().code).toBe('PROOF_INVALID');
    const stepped = await call('POST', '/api/v2/auth/step-up', person.token, await keyProof(pair, 'step-up', person.token));
    expect(stepped.statusCode, stepped.body).toBe(200);
    expect((await linkWallet(person.token, newWallet())).statusCode).toBe(200);
  });

  it('unlinks a method (not the last one); its next sign-in is a new person', async () => {
    const pair = newKeyPair();
    const wallet = newWallet();
    const person = await signIn(await keyProof(pair));
    const graph = (await linkWallet(person.token, wallet)).json();
    const keyRef = graph.accounts.find((a: { type: string }) => a.type === 'key').ref;
    const walletRef = graph.accounts.find((a: { type: string }) => a.type === 'wallet').ref;
    expect((await call('DELETE', `/api/v2/auth/accounts/${keyRef}`, person.token)).json().code).toBe('VALIDATION_FAILED');
    const unlinked = await call('DELETE', `/api/v2/auth/accounts/${walletRef}`, person.token);
    expect(unlinked.statusCode, unlinked.body).toBe(200);
    expect(unlinked.json().accounts).toHaveLength(1);
    const again = await signIn(await walletProof(wallet));
    expect(again.isNewUser).toBe(true);
    // The wallet's new person cannot unlink its only method.
    const walletGraph = (await call('GET', '/api/v2/auth/identity-graph', again.token)).json();
    expect(walletGraph.accounts).toHaveLength(1);
  });

  it('brings a guest identity along with consent, merging accountability: the stricter values win', async () => {
    // A guest browser, whose persona trust & safety scored.
    const guest = await test.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload: { strategy: 'guest' } });
    const anon = guest.cookies.find((cookie) => cookie.name === 'anon_id')!;
    const guestPersona = guest.json().profiles[0].id;
    const admin = (url: string, payload: object) => test.app.inject({ method: 'PUT', url, headers: test.adminHeaders, payload });
    const guestRow = await test.database.db.selectFrom('personas').select('accountability_profile_id').where('id', '=', guestPersona).executeTakeFirstOrThrow();
    const guestProfile = guestRow.accountability_profile_id;
    const scored = await admin(`/admin/people/${guestProfile}/abuse-score`, { score: 0.5 });
    expect(scored.statusCode, scored.body).toBe(200);

    // A person signed in elsewhere (no inferred link), then linking this browser's guest explicitly.
    const person = await signIn(await keyProof(newKeyPair()));
    const response = await test.app.inject({
      method: 'POST',
      url: '/api/v2/auth/link-accounts',
      payload: { targetType: 'guest' },
      headers: { authorization: `Bearer ${person.token}`, cookie: `anon_id=${anon.value}` },
    });
    expect(response.statusCode, response.body).toBe(200);
    const profiles = (await call('GET', '/personas', person.token)).json().personas.map((p: { id: string }) => p.id);
    expect(profiles).toContain(guestPersona);
    const merged = await test.database.db.selectFrom('personas').select('accountability_profile_id').where('id', '=', guestPersona).executeTakeFirstOrThrow();
    const held = await test.database.db.selectFrom('accountability_profiles').select(['abuse_score', 'risk_level']).where('id', '=', merged.accountability_profile_id).executeTakeFirstOrThrow();
    expect(held.abuse_score).toBeCloseTo(0.5);
    expect(held.risk_level).toBe('MEDIUM');
    const gone = await test.database.db.selectFrom('accountability_profiles').select('id').where('id', '=', guestProfile).executeTakeFirst();
    expect(gone).toBeUndefined();
    // The guest is absorbed: its cookie (which outlives any logout) is no way into the person.
    const cookieOnly = (method: 'GET' | 'DELETE', url: string) => test.app.inject({ method, url, headers: { cookie: `anon_id=${anon.value}` } });
    expect((await cookieOnly('GET', '/session')).json()).toMatchObject({ started: false, persona: null });
    expect((await cookieOnly('DELETE', '/api/v2/auth/identity')).json().code).toBe('SESSION_REQUIRED');
    expect((await call('GET', '/personas', person.token)).json().personas.map((p: { id: string }) => p.id)).toContain(guestPersona);
  });

  it('scores inferred links (one cookie, two people: each worth less) and shows them to trust & safety only', async () => {
    const browser = new Browser(test.app);
    const guest = await browser.request('POST', '/api/v2/auth/authenticate', { strategy: 'guest' });
    const profileOfPersona = async (id: string) =>
      (await test.database.db.selectFrom('personas').select('accountability_profile_id').where('id', '=', id).executeTakeFirstOrThrow()).accountability_profile_id;
    const guestProfile = await profileOfPersona(guest.json().profiles[0].id);
    const signInHere = async (pair: TestKeyPair) => {
      const challenge = await browser.request('POST', '/api/v2/auth/challenge', { strategy: 'key', publicKey: pair.publicKey });
      const response = await browser.request('POST', '/api/v2/auth/authenticate', signKeyChallenge(challenge.json(), pair));
      expect(response.statusCode, response.body).toBe(200);
      return profileOfPersona(response.json().profiles[0].id);
    };
    const person = async (profileId: string) => (await test.app.inject({ method: 'GET', url: `/admin/people/${profileId}`, headers: test.adminHeaders })).json().person;

    const first = await signInHere(newKeyPair());
    expect((await person(first)).inferredLinks).toEqual([
      { guestAccountabilityProfileId: guestProfile, signedInAccountabilityProfileId: first, confidence: 0.9, createdAt: expect.any(String) },
    ]);
    await browser.request('POST', '/auth/logout');
    const second = await signInHere(newKeyPair());
    const seen = (await person(guestProfile)).inferredLinks;
    expect(seen.map((link: { signedInAccountabilityProfileId: string }) => link.signedInAccountabilityProfileId).sort()).toEqual([first, second].sort());
    expect(seen.map((link: { confidence: number }) => link.confidence)).toEqual([0.45, 0.45]);
    // The person never sees it.
    const graph = await browser.request('GET', '/api/v2/auth/identity-graph');
    expect(graph.statusCode).toBe(200);
    expect(graph.body).not.toContain(guestProfile);
    expect(graph.json().accounts.map((account: { type: string }) => account.type)).toEqual(['key']);
  });

  it('refuses to bring a guest along when the personas together would pass the live-persona limit', async () => {
    const guest = await test.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload: { strategy: 'guest' } });
    const anon = guest.cookies.find((cookie) => cookie.name === 'anon_id')!;
    const person = await signIn(await keyProof(newKeyPair()));
    const policy = (value: number) =>
      test.app.inject({ method: 'PUT', url: '/admin/policies/max_personas_per_user', headers: test.adminHeaders, payload: { value } });
    const merge = () =>
      test.app.inject({
        method: 'POST',
        url: '/api/v2/auth/link-accounts',
        payload: { targetType: 'guest' },
        headers: { authorization: `Bearer ${person.token}`, cookie: `anon_id=${anon.value}` },
      });
    try {
      expect((await policy(1)).statusCode).toBe(200);
      const refused = await merge();
      expect(refused.statusCode, refused.body).toBe(409);
      expect(refused.json().code).toBe('PERSONA_LIMIT_REACHED');
      expect((await call('GET', '/personas', person.token)).json().personas).toHaveLength(1);
      expect((await policy(2)).statusCode).toBe(200);
      expect((await merge()).statusCode).toBe(200);
      expect((await call('GET', '/personas', person.token)).json().personas).toHaveLength(2);
    } finally {
      await test.app.inject({ method: 'DELETE', url: '/admin/policies/max_personas_per_user', headers: test.adminHeaders });
    }
  });

  it.runIf(databaseKind === 'postgres')('lets one of 20 parallel links of one identity win; the rest get IDENTITY_TAKEN', async () => {
    const wallet = newWallet();
    const people = await Promise.all(Array.from({ length: 20 }, async () => signIn(await keyProof(newKeyPair()))));
    const proofs = await Promise.all(people.map((person) => walletProof(wallet, 'link', person.token)));
    const responses = await Promise.all(
      people.map((person, i) => {
        const { strategy: _s, ...proof } = proofs[i]!;
        return call('POST', '/api/v2/auth/link-accounts', person.token, { targetType: 'wallet', proof });
      }),
    );
    expect(responses.filter((response) => response.statusCode === 200)).toHaveLength(1);
    expect(responses.filter((response) => response.json().code === 'IDENTITY_TAKEN')).toHaveLength(19);
    const owners = await test.database.db.selectFrom('accounts').select('id').where('type', '=', 'wallet').execute();
    expect(owners.length).toBeGreaterThanOrEqual(1);
  });
});

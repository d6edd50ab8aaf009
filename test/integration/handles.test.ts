import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyHashOf } from '../../src/modules/handles/handle.js';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';
import { Browser, newPerson } from '../support/browser.js';
import { postgresUrl } from '../support/database.js';
import { holdInserts, waitFor, type HeldInsert } from '../support/held-insert.js';
import { newKeyPair, rawPublicKey, signKeyChallenge } from '../support/key-signer.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

const check = async (handle: string) => (await test.app.inject({ method: 'GET', url: `/handles/${handle}` })).json();

async function guestWithPersona(): Promise<{ visitor: Visitor; personaId: string }> {
  const visitor = new Visitor(test.app);
  const started = await visitor.start();
  return { visitor, personaId: started.persona.id };
}

describe('handles', () => {
  it('answers available, invalid and reserved (look-alikes and territory codes included)', async () => {
    expect(await check('fresh_name')).toMatchObject({ handle: 'fresh_name', status: 'available', suggestions: [] });
    for (const bad of ['ab', 'no spaces', 'émile', 'a'.repeat(51), 'dash-es']) expect((await check(encodeURIComponent(bad))).status, bad).toBe('invalid');
    for (const reserved of ['admin', '4dm1n', 'ADMIN', 'r00t', 'supp0rt', 'main', 'ma1n']) expect((await check(reserved)).status, reserved).toBe('reserved');
  });

  it('claims a handle once: stored lowercase, with the spec 004 public key hash', async () => {
    const { visitor, personaId } = await guestWithPersona();
    const response = await visitor.request('PUT', `/personas/${personaId}/handle`, { handle: 'Alice' });
    expect(response.statusCode, response.body).toBe(200);
    const claimed = response.json();
    expect(claimed).toMatchObject({ handle: 'alice', address: 'alice@main' });
    const row = await test.database.db.selectFrom('user_identities').selectAll().where('handle', '=', 'alice').executeTakeFirstOrThrow();
    const { createHash } = await import('node:crypto');
    expect(claimed.publicKeyHash).toBe(createHash('sha256').update(`alice::main::${row.id}`).digest('hex'));
    const taken = await check('alice');
    expect(taken.status).toBe('taken');
    expect(taken.suggestions.length).toBeGreaterThan(0);
    for (const suggestion of taken.suggestions) expect((await check(suggestion)).status).toBe('available');
    expect((await check('a1ice')).status).toBe('taken'); // the skeleton is taken
    // The owner's list carries the handle, so a client shows it after a reload too.
    const listed = (await visitor.request('GET', '/personas')).json().personas;
    expect(listed).toEqual([expect.objectContaining({ id: personaId, handle: 'alice' })]);
    const again = await visitor.request('PUT', `/personas/${personaId}/handle`, { handle: 'alice_two' });
    expect(again.json().code).toBe('HANDLE_TAKEN');
  });

  it('of 50 parallel claims of one handle exactly one wins; the others get HANDLE_TAKEN', async () => {
    const claimants = await Promise.all(Array.from({ length: 50 }, () => guestWithPersona()));
    const responses = await Promise.all(claimants.map(({ visitor, personaId }) => visitor.request('PUT', `/personas/${personaId}/handle`, { handle: 'contested' })));
    expect(responses.filter((response) => response.statusCode === 200)).toHaveLength(1);
    const losers = responses.filter((response) => response.statusCode !== 200);
    expect(losers).toHaveLength(49);
    for (const loser of losers) expect(loser.json()).toMatchObject({ code: 'HANDLE_TAKEN', correlationId: expect.any(String) });
  }, 60_000);

  it('refuses reserved, invalid, and someone else\'s persona, changing nothing', async () => {
    const { visitor, personaId } = await guestWithPersona();
    expect((await visitor.request('PUT', `/personas/${personaId}/handle`, { handle: '4dm1n' })).json().code).toBe('HANDLE_RESERVED');
    expect((await visitor.request('PUT', `/personas/${personaId}/handle`, { handle: 'x' })).json().code).toBe('HANDLE_INVALID');
    expect((await visitor.request('PUT', `/personas/${personaId}/handle`, { handle: 'bob', extra: true })).json().code).toBe('VALIDATION_FAILED');
    const other = await guestWithPersona();
    expect((await other.visitor.request('PUT', `/personas/${personaId}/handle`, { handle: 'stolen' })).json().code).toBe('PERSONA_NOT_FOUND');
    expect((await check('stolen')).status).toBe('available');
  });

  it('rotation leaves the handle on the old persona, retired; an explicit move gives it to the new one, audited', async () => {
    const { visitor, personaId } = await guestWithPersona();
    await visitor.request('PUT', `/personas/${personaId}/handle`, { handle: 'rotator' });
    const rotated = await visitor.request('POST', `/personas/${personaId}/rotate`, { newDisplayName: 'Fresh Face' });
    expect(rotated.statusCode, rotated.body).toBeLessThan(300);
    const newId = rotated.json().persona.id;
    expect((await check('rotator')).status).toBe('retired');
    const moved = await visitor.request('POST', `/personas/${personaId}/handle/move`, { toPersonaId: newId });
    expect(moved.statusCode, moved.body).toBe(200);
    expect((await check('rotator')).status).toBe('taken');
    const audit = await test.database.db.selectFrom('audit_log').select(['action', 'target']).where('action', '=', 'handle.move').execute();
    expect(audit).toEqual([{ action: 'handle.move', target: 'rotator' }]);
    const stranger = await guestWithPersona();
    expect((await stranger.visitor.request('POST', `/personas/${newId}/handle/move`, { toPersonaId: stranger.personaId })).json().code).toBe('HANDLE_NOT_FOUND');
  });

  it('never issues a handle again, even after its persona is purged', async () => {
    const { visitor, personaId } = await guestWithPersona();
    await visitor.request('PUT', `/personas/${personaId}/handle`, { handle: 'once_only' });
    await test.database.db.deleteFrom('personas').where('id', '=', personaId).execute(); // what the purge does
    expect((await check('once_only')).status).toBe('retired');
    const next = await guestWithPersona();
    expect((await next.visitor.request('PUT', `/personas/${next.personaId}/handle`, { handle: 'once_only' })).json().code).toBe('HANDLE_TAKEN');
  });
});

describe('a handle claimed while a key is linked', () => {
  // The handle takes the person's key hash at its claim; linking a key records it on the person's
  // handles. Run at once, the claim must not miss a key committed after it read none, nor the link
  // a handle committed after it wrote. On PostgreSQL the claim is held at its insert (after reading
  // the key) while the link runs: the link must wait for it. PGlite runs them one after the other.
  it('leaves the handle with the key hash, however the two interleave', async () => {
    const browser = new Browser(test.app);
    const registered = await browser.register(newPerson('keyrace'));
    expect(registered.statusCode, registered.body).toBe(201);
    const pair = newKeyPair();
    const challenge = (await browser.request('POST', '/api/v2/auth/challenge', { strategy: 'key', publicKey: pair.publicKey, purpose: 'link' })).json();
    const { strategy: _strategy, ...proof } = signKeyChallenge(challenge, pair);
    const held: HeldInsert | null = postgresUrl ? await holdInserts(test.database.url!, 'user_identities') : null;
    try {
      const claiming = browser.request('PUT', `/personas/${registered.json().personaId}/handle`, { handle: 'key_race' });
      if (held) await waitFor(async () => (await held.waiters()) >= 1);
      let linked = false;
      const linking = browser.request('POST', '/api/v2/auth/link-accounts', { targetType: 'key', privacyMode: 'linked', proof }).finally(() => (linked = true));
      if (held) {
        await waitFor(async () => linked || (await held.waiters()) >= 2);
        await held.release();
      }
      const [claim, link] = await Promise.all([claiming, linking]);
      expect(claim.statusCode, claim.body).toBe(200);
      expect(link.statusCode, link.body).toBe(200);
    } finally {
      await held?.close();
    }
    const row = await test.database.db.selectFrom('user_identities').select(['key_hash', 'key_public']).where('handle', '=', 'key_race').executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(keyHashOf(rawPublicKey(pair)));
    expect((await test.app.inject({ method: 'GET', url: '/identities/key_race' })).json().identity.did).toMatch(/^did:key:z6Mk/);
  });
});

describe('moving a handle between two accounts of one person', () => {
  // Spec 003: an isolated account's personas are nobody else's. A handle passing between them and a
  // linked account's personas would tie the two in public (whoever knew @handle finds the other face).
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token?: string, payload?: object) =>
    test.app.inject({ method, url, ...(payload ? { payload } : {}), headers: token ? { authorization: `Bearer ${token}` } : {} });
  async function keyProof(pair: ReturnType<typeof newKeyPair>, purpose = 'sign-in', token?: string) {
    const challenge = (await call('POST', '/api/v2/auth/challenge', token, { strategy: 'key', publicKey: pair.publicKey, purpose })).json();
    return signKeyChallenge(challenge, pair);
  }
  async function signIn(pair: ReturnType<typeof newKeyPair>): Promise<{ token: string; personaId: string }> {
    const response = await call('POST', '/api/v2/auth/authenticate', undefined, { ...(await keyProof(pair)), client: 'api' });
    expect(response.statusCode, response.body).toBe(200);
    return { token: response.json().accessToken, personaId: response.json().profiles[0].id };
  }
  const ok = async (response: Promise<LightMyRequestResponse>, status = 200) => {
    const answered = await response;
    expect(answered.statusCode, answered.body).toBe(status);
    return answered.json();
  };
  const holderOf = async (handle: string) =>
    (await test.database.db.selectFrom('user_identities').select('persona_id').where('handle', '=', handle).executeTakeFirstOrThrow()).persona_id;

  // Two more personas each: more than a new person's defaults allow within a week.
  const loosened = { persona_creation_rate_limit: { count: 10, windowDays: 7 }, max_personas_per_user: 6 };
  beforeAll(async () => {
    for (const [name, value] of Object.entries(loosened)) {
      await ok(test.app.inject({ method: 'PUT', url: `/admin/policies/${name}`, headers: test.adminHeaders, payload: { value } }));
    }
  });
  afterAll(async () => {
    for (const name of Object.keys(loosened)) await test.app.inject({ method: 'DELETE', url: `/admin/policies/${name}`, headers: test.adminHeaders });
  });

  it('refuses either account the other\'s handle, as it refuses a stranger\'s; each still moves its own', async () => {
    // One person: a key account L (linked) and a key account I linked to it, then isolated.
    const [pairL, pairI] = [newKeyPair(), newKeyPair()];
    const l = await signIn(pairL);
    const { strategy: _strategy, ...proof } = await keyProof(pairI, 'link', l.token);
    await ok(call('POST', '/api/v2/auth/link-accounts', l.token, { targetType: 'key', privacyMode: 'linked', proof }));
    const i = { token: (await signIn(pairI)).token };
    const iFace = (await ok(call('POST', '/personas', i.token, { displayName: 'Isolated Face' }), 201)).persona.id;
    await ok(call('PUT', '/api/v2/auth/link-privacy', i.token, { privacyMode: 'isolated' }));
    const lSpare = (await ok(call('POST', '/personas', l.token, { displayName: 'Linked Spare' }), 201)).persona.id;
    const iSpare = (await ok(call('POST', '/personas', i.token, { displayName: 'Isolated Spare' }), 201)).persona.id;
    await ok(call('PUT', `/personas/${l.personaId}/handle`, l.token, { handle: 'linked_face' }));
    await ok(call('PUT', `/personas/${iFace}/handle`, i.token, { handle: 'isolated_face' }));

    // L takes I's handle; I takes L's, live and then retired by rotation: each is refused as a stranger is.
    const someone = await signIn(newKeyPair());
    const stranger = await call('POST', `/personas/${iFace}/handle/move`, someone.token, { toPersonaId: someone.personaId });
    const refusals = [
      await call('POST', `/personas/${iFace}/handle/move`, l.token, { toPersonaId: lSpare }),
      await call('POST', `/personas/${l.personaId}/handle/move`, i.token, { toPersonaId: iSpare }),
    ];
    const rotated = (await ok(call('POST', `/personas/${l.personaId}/rotate`, l.token, { newDisplayName: 'Linked Anew' }))).persona.id;
    refusals.push(await call('POST', `/personas/${l.personaId}/handle/move`, i.token, { toPersonaId: iSpare }));
    for (const refusal of refusals) {
      expect(refusal.statusCode, refusal.body).toBe(stranger.statusCode);
      expect(refusal.json()).toEqual({ ...stranger.json(), correlationId: expect.any(String) });
    }
    expect(stranger.json().code).toBe('HANDLE_NOT_FOUND');
    expect(await holderOf('isolated_face')).toBe(iFace);
    expect(await holderOf('linked_face')).toBe(l.personaId);
    const moves = await test.database.db.selectFrom('audit_log').select('target').where('action', '=', 'handle.move').where('target', 'in', ['linked_face', 'isolated_face']).execute();
    expect(moves).toEqual([]);

    // Each moves its own: I between its personas; L from its rotated-away persona to the successor.
    await ok(call('POST', `/personas/${iFace}/handle/move`, i.token, { toPersonaId: iSpare }));
    expect(await holderOf('isolated_face')).toBe(iSpare);
    await ok(call('POST', `/personas/${l.personaId}/handle/move`, l.token, { toPersonaId: rotated }));
    expect(await holderOf('linked_face')).toBe(rotated);
  });

  it('lets a partial account that chose a rotation\'s successor move the handle the rotation left behind', async () => {
    const [pairL, pairP] = [newKeyPair(), newKeyPair()];
    const l = await signIn(pairL);
    const { strategy: _strategy, ...proof } = await keyProof(pairP, 'link', l.token);
    await ok(call('POST', '/api/v2/auth/link-accounts', l.token, { targetType: 'key', privacyMode: 'linked', proof }));
    await ok(call('PUT', `/personas/${l.personaId}/handle`, l.token, { handle: 'left_behind' }));
    const successor = (await ok(call('POST', `/personas/${l.personaId}/rotate`, l.token, { newDisplayName: 'Chosen Anew' }))).persona.id;
    // P chooses the successor only: the selection names persona ids, so the retired one is not P's.
    const p = await signIn(pairP);
    await ok(call('PUT', '/api/v2/auth/link-privacy', p.token, { privacyMode: 'partial', profileIds: [successor] }));
    const access = await test.database.db.selectFrom('persona_access as pa').innerJoin('accounts as a', 'a.id', 'pa.account_id')
      .select('pa.persona_id').where('pa.persona_id', 'in', [l.personaId, successor]).where('a.privacy_mode', '=', 'partial').execute();
    expect(access.map((row) => row.persona_id)).toEqual([successor]);
    await ok(call('POST', `/personas/${l.personaId}/handle/move`, p.token, { toPersonaId: successor }));
    expect(await holderOf('left_behind')).toBe(successor);
  });
});

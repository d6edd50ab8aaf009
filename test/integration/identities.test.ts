import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { didKeyOf } from '../../src/auth/key/did-key.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTerritory, personWithHandle, simulateMove } from '../support/identities.js';
import { newKeyPair, rawPublicKey, signKeyChallenge } from '../support/key-signer.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
  await createTerritory(test, { code: 'dk', name: 'Denmark', federationDomain: 'dk.example.org', matrixDomain: 'matrix.dk.example.org' });
});
afterAll(() => test.close());

const lookup = (handle: string) => test.app.inject({ method: 'GET', url: `/identities/${handle}` });

async function expectGone(handle: string) {
  const response = await lookup(handle);
  expect(response.statusCode).toBe(404);
  expect(response.json()).toMatchObject({ code: 'IDENTITY_NOT_FOUND', correlationId: expect.any(String) });
}

describe('GET /identities/{handle}', () => {
  it('answers the public identity of a live handle, in any case, with no cookie and no internal id', async () => {
    const { personaId } = await personWithHandle(test, 'ida');
    const row = await test.database.db.selectFrom('user_identities').select(['id', 'public_key_hash']).where('handle', '=', 'ida').executeTakeFirstOrThrow();
    const response = await lookup('IDA');
    expect(response.statusCode, response.body).toBe(200);
    const { identity, correlationId } = response.json();
    expect(correlationId).toEqual(expect.any(String));
    expect(identity).toEqual({
      handle: 'ida',
      displayName: expect.any(String),
      avatarUrl: null,
      address: 'ida@main',
      matrixId: '@ida:localhost',
      aliases: [],
      publicKeyHash: row.public_key_hash,
      territory: { code: 'main', name: 'Main' },
    });
    expect(response.body).not.toContain(personaId);
    expect(response.body).not.toContain(row.id);
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('is 404 IDENTITY_NOT_FOUND for an unknown or impossible handle', async () => {
    await expectGone('nobody_here');
    await expectGone('no-such-handle!');
  });

  it('hides a deactivated persona on the very next request, and shows it again once reactivated', async () => {
    const { visitor, personaId } = await personWithHandle(test, 'dora');
    expect((await lookup('dora')).statusCode).toBe(200);
    expect((await visitor.request('POST', `/personas/${personaId}/deactivate`)).statusCode).toBeLessThan(300);
    await expectGone('dora');
    expect((await visitor.request('POST', `/personas/${personaId}/reactivate`)).statusCode).toBeLessThan(300);
    expect((await lookup('dora')).statusCode).toBe(200);
  });

  it('hides a persona deactivated on another node from the very next request (the identity generation bumped before the answer)', async () => {
    const nodeB = await startTestApp({ database: test.database });
    try {
      const { visitor, personaId } = await personWithHandle(test, 'nodal');
      const onB = () => nodeB.app.inject({ method: 'GET', url: '/identities/nodal' });
      expect((await onB()).statusCode).toBe(200);
      expect((await visitor.request('POST', `/personas/${personaId}/deactivate`)).statusCode).toBeLessThan(300);
      expect((await onB()).json().code).toBe('IDENTITY_NOT_FOUND');
      const webfinger = await nodeB.app.inject({ method: 'GET', url: '/.well-known/webfinger?resource=acct:nodal@localhost' });
      expect(webfinger.statusCode).toBe(404);
    } finally {
      await nodeB.close();
    }
  });

  it('hides a rotated-away persona (the handle stays on it, retired) and a deleted one', async () => {
    const rotated = await personWithHandle(test, 'rolf');
    const rotation = await rotated.visitor.request('POST', `/personas/${rotated.personaId}/rotate`, { newDisplayName: 'Rolf Anew' });
    expect(rotation.statusCode, rotation.body).toBeLessThan(300);
    await expectGone('rolf');
    // An explicit move brings the handle to the successor, and with it the identity.
    const moved = await rotated.visitor.request('POST', `/personas/${rotated.personaId}/handle/move`, { toPersonaId: rotation.json().persona.id });
    expect(moved.statusCode, moved.body).toBe(200);
    expect((await lookup('rolf')).json().identity.displayName).toBe('Rolf Anew');

    const deleted = await personWithHandle(test, 'delia');
    expect((await deleted.visitor.request('POST', `/personas/${deleted.personaId}/delete-permanent`)).statusCode).toBeLessThan(300);
    await expectGone('delia');
  });

  it('after a move answers the new address and Matrix id, with the old ones as aliases', async () => {
    const { personaId } = await personWithHandle(test, 'mona');
    await simulateMove(test, personaId, 'mona', 'main', 'dk');
    const { identity } = (await lookup('mona')).json();
    expect(identity).toMatchObject({
      address: 'mona@dk',
      matrixId: '@mona:matrix.dk.example.org',
      aliases: ['mona@main', '@mona:localhost'],
      territory: { code: 'dk', name: 'Denmark' },
    });
  });

  it('carries the did:key of a person who signed in with an ed25519 key', async () => {
    const pair = newKeyPair();
    const challenge = (await test.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'key', publicKey: pair.publicKey } })).json();
    const signedIn = await test.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload: { ...signKeyChallenge(challenge, pair), client: 'api' } });
    expect(signedIn.statusCode, signedIn.body).toBeLessThan(300);
    const { accessToken, profiles } = signedIn.json();
    const claim = await test.app.inject({
      method: 'PUT',
      url: `/personas/${profiles[0].id}/handle`,
      headers: { authorization: `Bearer ${accessToken}` },
      payload: { handle: 'keyholder' },
    });
    expect(claim.statusCode, claim.body).toBe(200);
    const { identity } = (await lookup('keyholder')).json();
    expect(identity.did).toBe(didKeyOf(rawPublicKey(pair)));
    expect(identity.did).toMatch(/^did:key:z6Mk/);
  });
});

import type { LightMyRequestResponse } from 'fastify';
import { isAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { territoryDb } from '../support/territory-db.js';
import { DataBox } from '../../src/crypto/data-box.js';
import { WALLET_KEY_PURPOSE, walletKeyBinding } from '../../src/modules/wallets/wallet.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, newPerson } from '../support/browser.js';
import { newKeyPair, signKeyChallenge } from '../support/key-signer.js';

let test: TestApp;
let box: DataBox;
beforeAll(async () => {
  test = await startTestApp({ env: { PUBLIC_ORIGIN: 'https://id.example.test', LOG_LEVEL: 'trace' } });
  box = new DataBox(test.config.secrets.emailKeys, WALLET_KEY_PURPOSE);
}, 60_000);
afterAll(() => test?.close());

const db = () => test.database.db;
const walletUrl = (personaId: string) => `/api/v2/profiles/${personaId}/session-wallet`;
/** Every response body the tests saw, to look for the private key in afterwards. */
const seen: string[] = [];

async function signedIn(): Promise<{ browser: Browser; personaId: string }> {
  const browser = new Browser(test.app);
  const response = await browser.register(newPerson('wallet'));
  expect(response.statusCode, response.body).toBe(201);
  return { browser, personaId: response.json().personaId };
}

async function call(browser: Browser, method: 'GET' | 'POST', personaId: string): Promise<LightMyRequestResponse> {
  const response = await browser.request(method, walletUrl(personaId));
  seen.push(response.body);
  return response;
}

function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: expect.any(String) });
}

/** The wallet as stored: its address global, its sealed key in the person's territory (the default one here). */
async function storedWallet(personaId: string) {
  const { address } = await db().selectFrom('persona_wallets').select('address').where('persona_id', '=', personaId).executeTakeFirstOrThrow();
  const key = await territoryDb(db()).selectFrom('persona_wallet_keys').select(['persona_id', 'key_id', 'private_sealed']).where('persona_id', '=', personaId).executeTakeFirstOrThrow();
  return { ...key, address };
}

/** The private key the row holds, opened with the server's keys as the service would. */
function openKey(row: { persona_id: string; key_id: string; private_sealed: Buffer }): Buffer {
  const key = box.open(walletKeyBinding(row.persona_id), { keyId: row.key_id, sealed: row.private_sealed });
  if (!key) throw new Error('the sealed key did not open');
  return key;
}

describe('POST /api/v2/profiles/{id}/session-wallet', () => {
  it('makes a real Ethereum key for the persona: the address is answered, the private key sealed', async () => {
    const { browser, personaId } = await signedIn();
    const response = await call(browser, 'POST', personaId);
    expect(response.statusCode, response.body).toBe(201);
    const { address } = response.json();
    expect(Object.keys(response.json()).sort()).toEqual(['address', 'correlationId']);
    expect(isAddress(address)).toBe(true);
    expect(address).toBe(address.toLowerCase());

    const row = await storedWallet(personaId);
    expect(row.address).toBe(address);
    const privateKey = openKey(row);
    expect(privateKey).toHaveLength(32);
    // The key is real: it controls the address answered.
    expect(privateKeyToAccount(`0x${privateKey.toString('hex')}`).address.toLowerCase()).toBe(address);
    const stored = [row.private_sealed.toString('hex'), row.private_sealed.toString('latin1'), row.private_sealed.toString('utf8')];
    for (const text of stored) expect(text).not.toContain(privateKey.toString('hex'));
    expect(row.private_sealed.includes(privateKey)).toBe(false);
  });

  it('answers the same wallet again (200), and GET reads it', async () => {
    const { browser, personaId } = await signedIn();
    const first = await call(browser, 'POST', personaId);
    const again = await call(browser, 'POST', personaId);
    expect(again.statusCode).toBe(200);
    expect(again.json().address).toBe(first.json().address);
    const read = await call(browser, 'GET', personaId);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ address: first.json().address, correlationId: expect.any(String) });
  });

  it('makes one wallet when two requests race', async () => {
    const { browser, personaId } = await signedIn();
    const responses = await Promise.all(Array.from({ length: 4 }, () => call(browser, 'POST', personaId)));
    expect(responses.map((response) => response.statusCode).sort()).toEqual([200, 200, 200, 201]);
    expect(new Set(responses.map((response) => response.json().address)).size).toBe(1);
    const rows = await db().selectFrom('persona_wallets').select('address').where('persona_id', '=', personaId).execute();
    expect(rows).toEqual([{ address: responses[0]?.json().address }]);
  });

  it('shows the address in the profiles of POST /api/v2/auth/authenticate', async () => {
    const pair = newKeyPair();
    const signIn = async () => {
      const challenge = await test.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'key', publicKey: pair.publicKey } });
      const response = await test.app.inject({
        method: 'POST',
        url: '/api/v2/auth/authenticate',
        payload: { ...signKeyChallenge(challenge.json(), pair), client: 'api' },
      });
      expect(response.statusCode, response.body).toBe(200);
      seen.push(response.body);
      return response.json();
    };
    const first = await signIn();
    expect(first.profiles[0].sessionWalletAddress).toBeNull();
    const personaId = first.profiles[0].id as string;
    const made = await test.app.inject({ method: 'POST', url: walletUrl(personaId), headers: { authorization: `Bearer ${first.accessToken}` } });
    expect(made.statusCode, made.body).toBe(201);
    seen.push(made.body);
    const second = await signIn();
    expect(second.profiles).toContainEqual(expect.objectContaining({ id: personaId, sessionWalletAddress: made.json().address }));
  });
});

describe('who may have a persona\'s wallet', () => {
  it('another person can neither make nor read a wallet for my persona (404 PERSONA_NOT_FOUND)', async () => {
    const me = await signedIn();
    const other = await signedIn();
    expectError(await call(other.browser, 'POST', me.personaId), 404, 'PERSONA_NOT_FOUND');
    expectError(await call(other.browser, 'GET', me.personaId), 404, 'PERSONA_NOT_FOUND');
    expect(await db().selectFrom('persona_wallets').select('address').where('persona_id', '=', me.personaId).execute()).toEqual([]);
    await call(me.browser, 'POST', me.personaId);
    expectError(await call(other.browser, 'GET', me.personaId), 404, 'PERSONA_NOT_FOUND');
    expectError(await call(other.browser, 'POST', me.personaId), 404, 'PERSONA_NOT_FOUND');
  });

  it('answers PERSONA_NOT_FOUND for an unknown or deactivated persona, NOT_FOUND before a wallet is made', async () => {
    const { browser, personaId } = await signedIn();
    expectError(await call(browser, 'GET', personaId), 404, 'NOT_FOUND');
    expectError(await call(browser, 'POST', '00000000-0000-4000-8000-000000000000'), 404, 'PERSONA_NOT_FOUND');
    const created = await browser.request('POST', '/personas', { displayName: `second ${Date.now()}` });
    expect(created.statusCode, created.body).toBe(201);
    const second = created.json().persona.id as string;
    expect((await browser.request('POST', `/personas/${second}/deactivate`)).statusCode).toBe(200);
    expectError(await call(browser, 'POST', second), 404, 'PERSONA_NOT_FOUND');
    expectError(await call(browser, 'GET', second), 404, 'PERSONA_NOT_FOUND');
  });

  it('needs a caller: 401 without a session, 400 for a malformed id', async () => {
    const { personaId } = await signedIn();
    const nobody = new Browser(test.app);
    expectError(await call(nobody, 'POST', personaId), 401, 'SESSION_REQUIRED');
    expectError(await call(nobody, 'GET', personaId), 401, 'SESSION_REQUIRED');
    expectError(await call(nobody, 'POST', 'not-a-uuid'), 400, 'VALIDATION_FAILED');
  });

  it('lets a guest give its own persona a wallet', async () => {
    const guest = new Browser(test.app);
    const started = await guest.request('POST', '/session');
    const personaId = started.json().persona.id as string;
    const response = await call(guest, 'POST', personaId);
    expect(response.statusCode, response.body).toBe(201);
    expect(isAddress(response.json().address)).toBe(true);
  });
});

describe('bringing a guest along', () => {
  it("passes the guest's wallet key to the person, in the person's territory, so erasure finds it", async () => {
    const guest = new Browser(test.app);
    const personaId = (await guest.request('POST', '/session')).json().persona.id as string;
    expect((await call(guest, 'POST', personaId)).statusCode).toBe(201);
    const created = await test.app.inject({ method: 'POST', url: '/admin/territories', headers: test.adminHeaders, payload: { code: 'wk', name: 'Wallet keys' } });
    expect(created.statusCode, created.body).toBe(201);
    const person = new Browser(test.app);
    expect((await person.request('POST', '/auth/register', { ...newPerson('merge'), territory: 'wk' })).statusCode).toBe(201);

    person.jar.set('anon_id', guest.jar.get('anon_id')!);
    const linked = await person.request('POST', '/api/v2/auth/link-accounts', { targetType: 'guest' });
    expect(linked.statusCode, linked.body).toBe(200);
    const { accountability_profile_id: profileId } = await db().selectFrom('personas').select('accountability_profile_id').where('id', '=', personaId).executeTakeFirstOrThrow();
    const keysIn = (code: string) => territoryDb(db(), code).selectFrom('persona_wallet_keys').select(['persona_id', 'accountability_profile_id']).where('persona_id', '=', personaId).execute();
    expect({ main: await keysIn('main'), wk: await keysIn('wk') }).toEqual({ main: [], wk: [{ persona_id: personaId, accountability_profile_id: profileId }] });

    expect((await person.request('DELETE', '/api/v2/auth/identity')).statusCode).toBe(200);
    expect(await keysIn('wk')).toEqual([]);
  });
});

describe('deleting the identity', () => {
  it("takes the wallet's sealed key out of the person's territory, and its address out of the global schema", async () => {
    const { browser, personaId } = await signedIn();
    expect((await call(browser, 'POST', personaId)).statusCode).toBe(201);
    const key = () => territoryDb(db()).selectFrom('persona_wallet_keys').select('persona_id').where('persona_id', '=', personaId).execute();
    expect(await key()).toHaveLength(1);
    const erased = await browser.request('DELETE', '/api/v2/auth/identity');
    expect(erased.statusCode, erased.body).toBe(200);
    expect(await key()).toEqual([]);
    expect(await db().selectFrom('persona_wallets').select('address').where('persona_id', '=', personaId).execute()).toEqual([]);
  });
});

describe('the private keys', () => {
  it('appear in no response and no log line', async () => {
    const rows = await territoryDb(db()).selectFrom('persona_wallet_keys').selectAll().execute();
    expect(rows.length).toBeGreaterThan(5);
    const logs = test.logs.join('\n');
    expect(logs).toContain('session-wallet'); // the requests were logged (trace level), so the check means something
    const responses = seen.join('\n');
    for (const row of rows) {
      const key = openKey(row);
      for (const text of [logs, responses]) {
        expect(text.toLowerCase()).not.toContain(key.toString('hex'));
        expect(text).not.toContain(key.toString('base64').replace(/=+$/, ''));
        expect(text).not.toContain(key.toString('base64url'));
      }
    }
  });
});

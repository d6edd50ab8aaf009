import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { databaseKind } from '../support/database.js';
import { newWallet, signWalletChallenge, type WalletChallenge, type WalletProof } from '../support/wallet-signer.js';

const ORIGIN = 'https://id.example';
const TTL_SECONDS = 300;

let test: TestApp;
let hasher: TokenHasher;
beforeAll(async () => {
  test = await startTestApp({ env: { PUBLIC_ORIGIN: ORIGIN, SIWE_CHAIN_IDS: '1, 10', CHALLENGE_TTL_SECONDS: String(TTL_SECONDS) } });
  hasher = new TokenHasher(test.config.secrets.tokenHashKey);
}, 60_000);
afterAll(() => test?.close());

const db = () => test.database.db;
const errorBody = (code: string) => ({ code, message: expect.any(String), correlationId: expect.any(String) });
const secondsFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000);

async function challenge(): Promise<WalletChallenge> {
  const response = await test.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'wallet' } });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

function authenticate(proof: WalletProof | Record<string, unknown>): Promise<LightMyRequestResponse> {
  return test.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload: proof });
}

/** The error, and (for refusals after the nonce is spent) which check refused it. */
function expectError(response: LightMyRequestResponse, status: number, code: string, reason?: RegExp) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual(errorBody(code));
  if (reason) expect(response.json().message).toMatch(reason);
}

async function walletAccountCount(): Promise<number> {
  const row = await db().selectFrom('accounts').select((eb) => eb.fn.countAll<string>().as('n')).where('type', '=', 'wallet').executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('POST /api/v2/auth/challenge {strategy: wallet}', () => {
  it('answers what a client needs to build the EIP-4361 message, and stores only a keyed hash of the nonce', async () => {
    const before = Date.now();
    const body = await challenge();
    expect(Object.keys(body).sort()).toEqual(['chainIds', 'correlationId', 'domain', 'expirationTime', 'issuedAt', 'nonce', 'statement', 'uri']);
    expect(body).toMatchObject({ domain: 'id.example', uri: ORIGIN, chainIds: [1, 10], statement: expect.any(String) });
    expect(body.nonce).toMatch(/^[0-9a-f]{32}$/);
    const issuedAt = Date.parse(body.issuedAt);
    expect(issuedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(body.expirationTime) - issuedAt).toBe(TTL_SECONDS * 1000);

    const row = await db()
      .selectFrom('verifications')
      .selectAll()
      .where('strategy', '=', 'wallet')
      .where('challenge_hash', '=', hasher.hash('challenge', `wallet:${body.nonce}`))
      .executeTakeFirstOrThrow();
    expect(row.consumed_at).toBeNull();
    expect(JSON.stringify(row)).not.toContain(body.nonce);
    const lifetime = await sql<{ seconds: number }>`select extract(epoch from expires_at - created_at)::float8 as seconds from verifications where id = ${row.id}`.execute(db());
    expect(lifetime.rows[0]?.seconds).toBeCloseTo(TTL_SECONDS, 0);
  });

  it('gives a different nonce every time', async () => {
    const nonces = new Set(await Promise.all(Array.from({ length: 5 }, async () => (await challenge()).nonce)));
    expect(nonces.size).toBe(5);
  });

  it('refuses fields it does not know', async () => {
    const response = await test.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'wallet', address: '0x00' } });
    expectError(response, 400, 'VALIDATION_FAILED');
  });
});

describe('POST /api/v2/auth/authenticate {strategy: wallet}', () => {
  it('signs a new wallet up (isNewUser), then signs the same key in again, keyed by the lower-cased address', async () => {
    const wallet = newWallet();
    const first = await authenticate(await signWalletChallenge(await challenge(), wallet));
    expect(first.statusCode, first.body).toBe(200);
    const body = first.json();
    expect(body).toMatchObject({ isNewUser: true, profiles: [{ id: expect.any(String), isActive: true, trustLevel: 'NEW' }] });
    expect(first.cookies.some((cookie) => cookie.name === '__Host-session')).toBe(true);

    const account = await db()
      .selectFrom('accounts')
      .selectAll()
      .where('type', '=', 'wallet')
      .where('lookup_key', '=', hasher.hash('account', `wallet:${wallet.address.toLowerCase()}`))
      .executeTakeFirstOrThrow();
    expect(account.verified).toBe(true);

    // Same key, another chain this deployment accepts, the address sent in lower case.
    const again = await authenticate({
      ...(await signWalletChallenge(await challenge(), wallet, { chainId: 10 })),
      walletAddress: wallet.address.toLowerCase(),
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ isNewUser: false, profiles: [{ id: body.profiles[0].id }] });
  });

  it('gives API clients tokens instead of a cookie', async () => {
    const response = await authenticate({ ...(await signWalletChallenge(await challenge())), client: 'api' });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ isNewUser: true, tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect(response.cookies.some((cookie) => cookie.name === '__Host-session')).toBe(false);
  });

  it('never writes the address to the logs', async () => {
    const wallet = newWallet();
    const response = await authenticate(await signWalletChallenge(await challenge(), wallet));
    expect(response.statusCode).toBe(200);
    const logs = test.logs.join('\n').toLowerCase();
    expect(logs).not.toContain(wallet.address.toLowerCase());
    expect(logs).not.toContain(wallet.address.slice(2).toLowerCase());
  });

  describe('refuses, and signs nobody in', () => {
    let accountsBefore: number;
    beforeAll(async () => {
      accountsBefore = await walletAccountCount();
    });
    afterAll(async () => {
      expect(await walletAccountCount()).toBe(accountsBefore);
    });

    it('a replayed nonce', async () => {
      const proof = await signWalletChallenge(await challenge());
      expect((await authenticate(proof)).statusCode).toBe(200);
      accountsBefore++;
      expectError(await authenticate(proof), 400, 'CHALLENGE_INVALID');
    });

    it('a nonce it never issued', async () => {
      const issued = await challenge();
      expectError(await authenticate(await signWalletChallenge({ ...issued, nonce: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' })), 400, 'CHALLENGE_INVALID');
    });

    it('an expired challenge', async () => {
      const issued = await challenge();
      await db()
        .updateTable('verifications')
        .set({ expires_at: sql<Date>`now() - interval '1 second'` })
        .where('challenge_hash', '=', hasher.hash('challenge', `wallet:${issued.nonce}`))
        .execute();
      expectError(await authenticate(await signWalletChallenge(issued)), 400, 'CHALLENGE_INVALID');
    });

    it('a message past its expiration time, and the nonce is spent by the attempt', async () => {
      const issued = await challenge();
      const wallet = newWallet();
      const expired = await signWalletChallenge(issued, wallet, { issuedAt: secondsFromNow(-20), expirationTime: secondsFromNow(-1) });
      expectError(await authenticate(expired), 401, 'PROOF_INVALID', /expired/);
      // Consumed before the checks: the same nonce in a good message is no longer accepted.
      expectError(await authenticate(await signWalletChallenge(issued, wallet)), 400, 'CHALLENGE_INVALID');
    });

    it('a message whose not-before time is ahead', async () => {
      const proof = await signWalletChallenge(await challenge(), newWallet(), { notBefore: secondsFromNow(120) });
      expectError(await authenticate(proof), 401, 'PROOF_INVALID', /not valid yet/);
    });

    it('a message issued in the future (beyond 60 s of skew)', async () => {
      const proof = await signWalletChallenge(await challenge(), newWallet(), { issuedAt: secondsFromNow(120), expirationTime: secondsFromNow(600) });
      expectError(await authenticate(proof), 401, 'PROOF_INVALID', /future/);
    });

    it('a message issued longer ago than a challenge lives', async () => {
      const proof = await signWalletChallenge(await challenge(), newWallet(), { issuedAt: secondsFromNow(-TTL_SECONDS - 30) });
      expectError(await authenticate(proof), 401, 'PROOF_INVALID', /too long ago/);
    });

    it('a message for another domain', async () => {
      const proof = await signWalletChallenge(await challenge(), newWallet(), { domain: 'evil.example' });
      expectError(await authenticate(proof), 401, 'PROOF_INVALID', /domain/);
    });

    it('a message whose URI is on another origin', async () => {
      const proof = await signWalletChallenge(await challenge(), newWallet(), { uri: 'https://evil.example/login' });
      expectError(await authenticate(proof), 401, 'PROOF_INVALID', /URI/);
    });

    it('a message for a chain this deployment does not accept', async () => {
      const proof = await signWalletChallenge(await challenge(), newWallet(), { chainId: 137 });
      expectError(await authenticate(proof), 401, 'PROOF_INVALID', /chain/);
    });

    it('a message changed after it was signed', async () => {
      const proof = await signWalletChallenge(await challenge());
      const tampered = proof.message.replace('Sign in to personae.', 'Sign in to personae!');
      expect(tampered).not.toBe(proof.message);
      expectError(await authenticate({ ...proof, message: tampered }), 401, 'PROOF_INVALID', /signature/);
    });

    it('a message naming an address whose key did not sign it', async () => {
      const issued = await challenge();
      const victim = newWallet();
      const attacker = newWallet();
      const proof = await signWalletChallenge(issued, attacker, { address: victim.address });
      expect(proof.message).toContain(victim.address);
      expectError(await authenticate({ ...proof, walletAddress: victim.address }), 401, 'PROOF_INVALID', /signature/);
    });

    it('a walletAddress that is not the message\'s address', async () => {
      const proof = await signWalletChallenge(await challenge());
      expectError(await authenticate({ ...proof, walletAddress: newWallet().address }), 401, 'PROOF_INVALID', /walletAddress/);
    });

    it('a malformed message, without spending the nonce', async () => {
      const issued = await challenge();
      const wallet = newWallet();
      const proof = await signWalletChallenge(issued, wallet);
      expectError(await authenticate({ ...proof, message: 'hello' }), 400, 'VALIDATION_FAILED');
      const padded = `${proof.message}\nAlso approve: transfer of all funds`;
      const signedPadded = await wallet.signMessage({ message: padded });
      expectError(await authenticate({ ...proof, message: padded, signature: signedPadded }), 400, 'VALIDATION_FAILED');
      const unchecksummed = proof.message.replace(wallet.address, wallet.address.toLowerCase());
      expectError(await authenticate({ ...proof, message: unchecksummed, signature: await wallet.signMessage({ message: unchecksummed }) }), 400, 'VALIDATION_FAILED');
      // Bad input changes nothing: the nonce is still good.
      expect((await authenticate(proof)).statusCode).toBe(200);
      accountsBefore++;
    });

    it.each([
      ['a signature of the wrong length', { signature: `0x${'ab'.repeat(64)}` }],
      ['a signature that is not hex', { signature: `0x${'zz'.repeat(65)}` }],
      ['a walletAddress that is not an address', { walletAddress: '0x1234' }],
      ['a field the method does not know', { privacyMode: 'isolated' }],
    ])('%s (schema)', async (_case, change) => {
      const proof = await signWalletChallenge(await challenge());
      expectError(await authenticate({ ...proof, ...change }), 400, 'VALIDATION_FAILED');
    });

    it('a signature with the other recovery id (recovers another address)', async () => {
      const proof = await signWalletChallenge(await challenge());
      const flipped = `${proof.signature.slice(0, -2)}${proof.signature.endsWith('1b') ? '1c' : '1b'}` as `0x${string}`;
      expectError(await authenticate({ ...proof, signature: flipped }), 401, 'PROOF_INVALID', /signature/);
    });
  });

  it(`lets exactly one of 10 concurrent attempts with one signed message through (${databaseKind})`, async () => {
    const proof = await signWalletChallenge(await challenge());
    const responses = await Promise.all(Array.from({ length: 10 }, () => authenticate(proof)));
    const statuses = responses.map((response) => response.statusCode).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(400)]);
    for (const response of responses.filter((r) => r.statusCode !== 200)) expect(response.json().code).toBe('CHALLENGE_INVALID');
  });
});

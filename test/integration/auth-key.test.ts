import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { didKeyOf } from '../../src/auth/key/did-key.js';
import { keySignInMessage } from '../../src/auth/key/key-message.js';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { databaseKind } from '../support/database.js';
import { territoryDb } from '../support/territory-db.js';
import { newKeyPair, rawPublicKey, signKeyChallenge, type KeyChallenge, type KeyProof, type TestKeyPair } from '../support/key-signer.js';

const ORIGIN = 'https://id.example:8443';
const DOMAIN = 'id.example:8443';
const TTL_SECONDS = 120;

let test: TestApp;
let hasher: TokenHasher;
beforeAll(async () => {
  test = await startTestApp({ env: { PUBLIC_ORIGIN: ORIGIN, CHALLENGE_TTL_SECONDS: String(TTL_SECONDS) } });
  hasher = new TokenHasher(test.config.secrets.tokenHashKey);
}, 60_000);
afterAll(() => test?.close());

const db = () => test.database.db;
const errorBody = (code: string) => ({ code, message: expect.any(String), correlationId: expect.any(String) });

function requestChallenge(publicKey: string): Promise<LightMyRequestResponse> {
  return test.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'key', publicKey } });
}

async function challenge(pair: TestKeyPair): Promise<KeyChallenge> {
  const response = await requestChallenge(pair.publicKey);
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

function authenticate(proof: KeyProof | Record<string, unknown>): Promise<LightMyRequestResponse> {
  return test.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload: proof });
}

/** The error, and (for refusals after the challenge is spent) which check refused it. */
function expectError(response: LightMyRequestResponse, status: number, code: string, reason?: RegExp) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual(errorBody(code));
  if (reason) expect(response.json().message).toMatch(reason);
}

async function keyAccountCount(): Promise<number> {
  const row = await db().selectFrom('accounts').select((eb) => eb.fn.countAll<string>().as('n')).where('type', '=', 'key').executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('POST /api/v2/auth/challenge {strategy: key}', () => {
  it('answers 128 random bits and the exact text to sign, and stores the challenge hashed with the key beside it', async () => {
    const pair = newKeyPair();
    const body = await challenge(pair);
    expect(Object.keys(body).sort()).toEqual(['challenge', 'correlationId', 'message']);
    expect(body.challenge).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(body.challenge, 'base64url')).toHaveLength(16);
    expect(body.message).toBe(keySignInMessage(DOMAIN, body.challenge));
    expect(body.message).toBe(`personae sign-in\ndomain: ${DOMAIN}\nchallenge: ${body.challenge}`);

    const row = await db()
      .selectFrom('verifications')
      .selectAll()
      .where('strategy', '=', 'key')
      .where('challenge_hash', '=', hasher.hash('challenge', `key:${body.challenge}`))
      .executeTakeFirstOrThrow();
    // The key the challenge is for, as a keyed hash only: the global record holds nothing personal.
    expect(row.state).toEqual({ keyBinding: hasher.hash('challenge', `key-holder:${pair.publicKey}`).toString('hex') });
    expect(JSON.stringify(row)).not.toContain(body.challenge);
    expect(JSON.stringify(row)).not.toContain(pair.publicKey);
    expect(JSON.stringify(row)).not.toContain(Buffer.from(pair.publicKey, 'base64url').toString('hex'));
    const lifetime = await sql<{ seconds: number }>`select extract(epoch from expires_at - created_at)::float8 as seconds from verifications where id = ${row.id}`.execute(db());
    expect(lifetime.rows[0]?.seconds).toBeCloseTo(TTL_SECONDS, 0);
  });

  it.each([
    ['a key one character short', (key: string) => key.slice(1)],
    ['a key one character long', (key: string) => `${key}A`],
    ['a padded key', (key: string) => `${key}=`],
    ['a key in standard base64', (key: string) => `+${key.slice(1)}`],
  ])('refuses %s', async (_case, mangle) => {
    expectError(await requestChallenge(mangle(newKeyPair().publicKey)), 400, 'VALIDATION_FAILED');
  });

  it.each([
    ['all zeros (a point of order 4)', Buffer.alloc(32)],
    ['the neutral point', Buffer.concat([Buffer.of(1), Buffer.alloc(31)])],
    ['a y coordinate beyond the field (not canonical)', Buffer.alloc(32, 0xff)],
  ])('refuses a weak or invalid key: %s', async (_case, raw) => {
    expectError(await requestChallenge(raw.toString('base64url')), 400, 'VALIDATION_FAILED');
  });

  it('refuses a non-canonical spelling of a key (trailing bits set)', async () => {
    const key = newKeyPair().publicKey;
    // 32 bytes in 43 characters leave 2 spare bits in the last one; canonical encoders write them as 0.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(key.at(-1)!);
    const spelled = `${key.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(Buffer.from(spelled, 'base64url')).toEqual(Buffer.from(key, 'base64url'));
    expectError(await requestChallenge(spelled), 400, 'VALIDATION_FAILED');
  });
});

describe('POST /api/v2/auth/authenticate {strategy: key}', () => {
  it('signs a new key up as its did:key, keeps the raw public key, then signs the same key in again', async () => {
    const pair = newKeyPair();
    const first = await authenticate(signKeyChallenge(await challenge(pair), pair));
    expect(first.statusCode, first.body).toBe(200);
    const body = first.json();
    expect(body).toMatchObject({ isNewUser: true, profiles: [{ id: expect.any(String), isActive: true, trustLevel: 'NEW' }] });
    expect(first.cookies.some((cookie) => cookie.name === '__Host-session')).toBe(true);

    const did = didKeyOf(rawPublicKey(pair));
    expect(did).toMatch(/^did:key:z6Mk/);
    const account = await db()
      .selectFrom('accounts')
      .selectAll()
      .where('type', '=', 'key')
      .where('lookup_key', '=', hasher.hash('account', `key:${did}`))
      .executeTakeFirstOrThrow();
    expect(account.verified).toBe(true);
    const credential = await territoryDb(db()).selectFrom('key_credentials').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow();
    expect(Buffer.from(credential.public_key)).toEqual(rawPublicKey(pair));

    const again = await authenticate({ ...signKeyChallenge(await challenge(pair), pair), client: 'api' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ isNewUser: false, profiles: [{ id: body.profiles[0].id }], tokenType: 'Bearer' });
    expect(await territoryDb(db()).selectFrom('key_credentials').selectAll().where('account_id', '=', account.id).execute()).toHaveLength(1);
  });

  it('never writes the key or its did:key to the logs', async () => {
    const pair = newKeyPair();
    expect((await authenticate(signKeyChallenge(await challenge(pair), pair))).statusCode).toBe(200);
    const logs = test.logs.join('\n');
    expect(logs).not.toContain(pair.publicKey);
    expect(logs).not.toContain(didKeyOf(rawPublicKey(pair)).slice(9));
  });

  describe('refuses, and signs nobody in', () => {
    let accountsBefore: number;
    beforeAll(async () => {
      accountsBefore = await keyAccountCount();
    });
    afterAll(async () => {
      expect(await keyAccountCount()).toBe(accountsBefore);
    });

    it('a replayed challenge', async () => {
      const pair = newKeyPair();
      const proof = signKeyChallenge(await challenge(pair), pair);
      expect((await authenticate(proof)).statusCode).toBe(200);
      accountsBefore++;
      expectError(await authenticate(proof), 400, 'CHALLENGE_INVALID');
    });

    it('a challenge it never issued', async () => {
      const pair = newKeyPair();
      const made = { challenge: 'AAAAAAAAAAAAAAAAAAAAAA', message: keySignInMessage(DOMAIN, 'AAAAAAAAAAAAAAAAAAAAAA') };
      expectError(await authenticate(signKeyChallenge(made, pair)), 400, 'CHALLENGE_INVALID');
    });

    it('an expired challenge', async () => {
      const pair = newKeyPair();
      const issued = await challenge(pair);
      await db()
        .updateTable('verifications')
        .set({ expires_at: sql<Date>`now() - interval '1 second'` })
        .where('challenge_hash', '=', hasher.hash('challenge', `key:${issued.challenge}`))
        .execute();
      expectError(await authenticate(signKeyChallenge(issued, pair)), 400, 'CHALLENGE_INVALID');
    });

    it('a signature over the message for another domain, and the challenge is spent by the attempt', async () => {
      const pair = newKeyPair();
      const issued = await challenge(pair);
      const elsewhere = signKeyChallenge(issued, pair, keySignInMessage('evil.example', issued.challenge));
      expectError(await authenticate(elsewhere), 401, 'PROOF_INVALID', /signature/);
      expectError(await authenticate(signKeyChallenge(issued, pair)), 400, 'CHALLENGE_INVALID');
    });

    it('a signature over the bare challenge (not the sign-in message)', async () => {
      const pair = newKeyPair();
      const issued = await challenge(pair);
      expectError(await authenticate(signKeyChallenge(issued, pair, issued.challenge)), 401, 'PROOF_INVALID', /signature/);
    });

    it('a signature by another key', async () => {
      const pair = newKeyPair();
      const issued = await challenge(pair);
      const forged = signKeyChallenge(issued, newKeyPair());
      expectError(await authenticate({ ...forged, publicKey: pair.publicKey }), 401, 'PROOF_INVALID', /signature/);
    });

    it('a challenge issued for key A answered with key B', async () => {
      const a = newKeyPair();
      const b = newKeyPair();
      const issued = await challenge(a);
      expectError(await authenticate(signKeyChallenge(issued, b)), 401, 'PROOF_INVALID', /another key/);
    });

    it('a forgery with a small-order key (all zeros, which OpenSSL alone would accept with a zero signature)', async () => {
      const forged = { strategy: 'key', publicKey: Buffer.alloc(32).toString('base64url'), challenge: (await challenge(newKeyPair())).challenge, signature: Buffer.alloc(64).toString('base64url') };
      expectError(await authenticate(forged), 400, 'VALIDATION_FAILED');
    });

    it.each([
      ['a public key of 31 bytes', (proof: KeyProof) => ({ ...proof, publicKey: Buffer.alloc(31, 7).toString('base64url') })],
      ['a public key of 33 bytes', (proof: KeyProof) => ({ ...proof, publicKey: Buffer.alloc(33, 7).toString('base64url') })],
      ['a signature of 63 bytes', (proof: KeyProof) => ({ ...proof, signature: Buffer.from(proof.signature, 'base64url').subarray(1).toString('base64url') })],
      ['a signature of 65 bytes', (proof: KeyProof) => ({ ...proof, signature: Buffer.concat([Buffer.from(proof.signature, 'base64url'), Buffer.of(0)]).toString('base64url') })],
      ['a challenge of 15 bytes', (proof: KeyProof) => ({ ...proof, challenge: proof.challenge.slice(2) })],
      ['a field the method does not know', (proof: KeyProof) => ({ ...proof, did: 'did:key:z6Mk' })],
    ])('%s (schema), without spending the challenge', async (_case, mangle) => {
      const pair = newKeyPair();
      const proof = signKeyChallenge(await challenge(pair), pair);
      expectError(await authenticate(mangle(proof)), 400, 'VALIDATION_FAILED');
      expect((await authenticate(proof)).statusCode).toBe(200);
      accountsBefore++;
    });
  });

  it(`lets exactly one of 10 concurrent attempts with one signed challenge through (${databaseKind})`, async () => {
    const pair = newKeyPair();
    const proof = signKeyChallenge(await challenge(pair), pair);
    const responses = await Promise.all(Array.from({ length: 10 }, () => authenticate(proof)));
    expect(responses.map((response) => response.statusCode).sort()).toEqual([200, ...Array(9).fill(400)]);
    for (const response of responses.filter((r) => r.statusCode !== 200)) expect(response.json().code).toBe('CHALLENGE_INVALID');
  });
});

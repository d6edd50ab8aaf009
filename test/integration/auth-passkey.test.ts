import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { databaseKind } from '../support/database.js';
import { flipBit, SoftwareAuthenticator, type SoftwareCredential } from '../support/software-authenticator.js';
import { territoryDb } from '../support/territory-db.js';

const ORIGIN = 'https://id.example';
const RP_ID = 'id.example';
const TTL_SECONDS = 300;

let test: TestApp;
let hasher: TokenHasher;
beforeAll(async () => {
  test = await startTestApp({ env: { PUBLIC_ORIGIN: ORIGIN, WEBAUTHN_RP_NAME: 'Personae Test', CHALLENGE_TTL_SECONDS: String(TTL_SECONDS) } });
  hasher = new TokenHasher(test.config.secrets.tokenHashKey);
}, 60_000);
afterAll(() => test?.close());

const db = () => test.database.db;
const errorBody = (code: string) => ({ code, message: expect.any(String), correlationId: expect.any(String) });

type Poster = (url: string, payload: unknown) => Promise<LightMyRequestResponse>;
const anonymous: Poster = (url, payload) => test.app.inject({ method: 'POST', url, payload: payload as object });
const as = (browser: Browser): Poster => (url, payload) => browser.request('POST', url, payload);

async function registrationOptions(post: Poster = anonymous, purpose?: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const response = await post('/api/v2/auth/challenge', { strategy: 'passkey', mode: 'register', ...(purpose ? { purpose } : {}) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().options;
}

async function authenticationOptions(post: Poster = anonymous, purpose?: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const response = await post('/api/v2/auth/challenge', { strategy: 'passkey', mode: 'authenticate', ...(purpose ? { purpose } : {}) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().options;
}

function authenticate(response: RegistrationResponseJSON | AuthenticationResponseJSON | Record<string, unknown>, post: Poster = anonymous) {
  return post('/api/v2/auth/authenticate', { strategy: 'passkey', response });
}

function expectError(response: LightMyRequestResponse, status: number, code: string, reason?: RegExp) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual(errorBody(code));
  if (reason) expect(response.json().message).toMatch(reason);
}

/** A passkey registered through the routes (a new person), ready to sign in with. */
async function registered(authenticator = new SoftwareAuthenticator(ORIGIN)): Promise<{ authenticator: SoftwareAuthenticator; credential: SoftwareCredential; profileId: string }> {
  const { response, credential } = authenticator.register(await registrationOptions());
  const answer = await authenticate(response);
  expect(answer.statusCode, answer.body).toBe(200);
  expect(answer.json().isNewUser).toBe(true);
  return { authenticator, credential, profileId: answer.json().profiles[0].id };
}

/** The stored row, its bigint counter as a number (node-postgres answers a string, PGlite a number). */
async function storedCredential(credentialId: string) {
  // In the person's territory (the default one here); the global schema keeps only the account's keyed hash of the id.
  const row = await territoryDb(db()).selectFrom('passkey_credentials').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
  return row && { ...row, counter: Number(row.counter) };
}

async function passkeyAccountCount(): Promise<number> {
  const row = await db().selectFrom('accounts').select((eb) => eb.fn.countAll<string>().as('n')).where('type', '=', 'passkey').executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('POST /api/v2/auth/challenge {strategy: passkey}', () => {
  it('answers registration options with a random user handle and a neutral name, and stores only a keyed hash of the challenge', async () => {
    const response = await anonymous('/api/v2/auth/challenge', { strategy: 'passkey', mode: 'register' });
    expect(response.statusCode, response.body).toBe(200);
    const { options } = response.json() as { options: PublicKeyCredentialCreationOptionsJSON };
    expect(options).toMatchObject({
      rp: { id: RP_ID, name: 'Personae Test' },
      user: { name: 'personae user', displayName: '' },
      attestation: 'none',
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      excludeCredentials: [],
      timeout: TTL_SECONDS * 1000,
    });
    expect(options.user.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(options.pubKeyCredParams.map((param) => param.alg)).toContain(-7);
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = await registrationOptions();
    expect(second.user.id).not.toBe(options.user.id);
    expect(second.challenge).not.toBe(options.challenge);

    const row = await db()
      .selectFrom('verifications')
      .selectAll()
      .where('strategy', '=', 'passkey')
      .where('challenge_hash', '=', hasher.hash('challenge', `passkey:${options.challenge}`))
      .executeTakeFirstOrThrow();
    expect(row.state).toEqual({ mode: 'register' });
    expect(row.consumed_at).toBeNull();
    expect(JSON.stringify(row)).not.toContain(options.challenge);
    const lifetime = await sql<{ seconds: number }>`select extract(epoch from expires_at - created_at)::float8 as seconds from verifications where id = ${row.id}`.execute(db());
    expect(lifetime.rows[0]?.seconds).toBeCloseTo(TTL_SECONDS, 0);
  });

  it('answers authentication options for a discoverable sign-in (no allowCredentials)', async () => {
    const options = await authenticationOptions();
    expect(options).toMatchObject({ rpId: RP_ID, userVerification: 'preferred', allowCredentials: [], timeout: TTL_SECONDS * 1000 });
    const row = await db()
      .selectFrom('verifications')
      .select('state')
      .where('challenge_hash', '=', hasher.hash('challenge', `passkey:${options.challenge}`))
      .executeTakeFirstOrThrow();
    expect(row.state).toEqual({ mode: 'authenticate' });
  });

  it('lists a signed-in caller\'s passkey: excluded when registering another, allowed on step-up', async () => {
    const browser = new Browser(test.app);
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const { response, credential } = authenticator.register(await registrationOptions(as(browser)));
    expect((await authenticate(response, as(browser))).statusCode).toBe(200);
    expect(browser.sessionCookie).toBeDefined();

    const link = await registrationOptions(as(browser), 'link');
    expect(link.excludeCredentials).toEqual([{ id: credential.id, type: 'public-key', transports: ['internal', 'hybrid'] }]);
    const stepUp = await authenticationOptions(as(browser), 'step-up');
    expect(stepUp.allowCredentials).toEqual([{ id: credential.id, type: 'public-key', transports: ['internal', 'hybrid'] }]);
    // A linking or step-up ceremony belongs to a signed-in person: nobody else gets one.
    for (const purpose of ['link', 'step-up']) {
      const refused = await anonymous('/api/v2/auth/challenge', { strategy: 'passkey', mode: 'authenticate', purpose });
      expect(refused.statusCode).toBe(401);
      expect(refused.json().code).toBe('SESSION_REQUIRED');
    }
  });

  it('steps up with a passkey, links a second one, and unlinking that one takes its credential out of the territory', async () => {
    const browser = new Browser(test.app);
    const first = new SoftwareAuthenticator(ORIGIN);
    const { response, credential } = first.register(await registrationOptions(as(browser)));
    expect((await authenticate(response, as(browser))).statusCode).toBe(200);
    const stepUp = first.authenticate(await authenticationOptions(as(browser), 'step-up'));
    const stepped = await browser.request('POST', '/api/v2/auth/step-up', { strategy: 'passkey', response: stepUp });
    expect(stepped.statusCode, stepped.body).toBe(200);
    expect((await storedCredential(credential.id))?.counter).toBe(1);

    const second = new SoftwareAuthenticator(ORIGIN);
    const linking = second.register(await registrationOptions(as(browser), 'link'));
    const linked = await browser.request('POST', '/api/v2/auth/link-accounts', { targetType: 'passkey', proof: { response: linking.response } });
    expect(linked.statusCode, linked.body).toBe(200);
    expect(await storedCredential(linking.credential.id)).toMatchObject({ counter: 0 });
    // Both are offered for the next step-up: listed from the territory.
    expect((await authenticationOptions(as(browser), 'step-up')).allowCredentials?.map((allowed) => allowed.id).sort()).toEqual([credential.id, linking.credential.id].sort());

    const accounts = linked.json().accounts as Array<{ ref: string; type: string; identifier: string }>;
    const secondRef = accounts.find((account) => account.type === 'passkey' && account.identifier.endsWith(linking.credential.id.slice(-4)))!.ref;
    const unlinked = await browser.request('DELETE', `/api/v2/auth/accounts/${secondRef}`);
    expect(unlinked.statusCode, unlinked.body).toBe(200);
    expect(await storedCredential(linking.credential.id)).toBeUndefined();
    expect(await storedCredential(credential.id)).toMatchObject({ counter: 1 });
    expectError(await authenticate(second.authenticate(await authenticationOptions(), { credential: linking.credential })), 401, 'PROOF_INVALID');
  });

  it.each([
    ['no mode', {}],
    ['an unknown mode', { mode: 'delete' }],
    ['a field it does not know', { mode: 'register', userName: 'alice' }],
  ])('refuses %s', async (_case, body) => {
    expectError(await anonymous('/api/v2/auth/challenge', { strategy: 'passkey', ...body }), 400, 'VALIDATION_FAILED');
  });
});

describe('POST /api/v2/auth/authenticate {strategy: passkey}', () => {
  it('registers a passkey (isNewUser), then signs in with it, keyed by its credential id', async () => {
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const { response, credential } = authenticator.register(await registrationOptions());
    const first = await authenticate(response);
    expect(first.statusCode, first.body).toBe(200);
    const body = first.json();
    expect(body).toMatchObject({ isNewUser: true, profiles: [{ id: expect.any(String), isActive: true, trustLevel: 'NEW' }] });
    expect(first.cookies.some((cookie) => cookie.name === '__Host-session')).toBe(true);

    const account = await db()
      .selectFrom('accounts')
      .selectAll()
      .where('type', '=', 'passkey')
      .where('lookup_key', '=', hasher.hash('account', `passkey:${credential.id}`))
      .executeTakeFirstOrThrow();
    expect(account.verified).toBe(true);
    const stored = await storedCredential(credential.id);
    expect(stored).toMatchObject({ account_id: account.id, counter: 0, transports: ['internal', 'hybrid'], counter_regressed_at: null, last_used_at: null });
    expect(stored?.public_key.length).toBeGreaterThan(64); // the COSE key: kty, alg, crv, x, y

    const again = await authenticate(authenticator.authenticate(await authenticationOptions()));
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ isNewUser: false, profiles: [{ id: body.profiles[0].id }] });
    const used = await storedCredential(credential.id);
    expect(used?.counter).toBe(1);
    expect(used?.last_used_at).toBeInstanceOf(Date);
  });

  it('gives API clients tokens instead of a cookie', async () => {
    const { authenticator } = await registered();
    const response = await test.app.inject({
      method: 'POST',
      url: '/api/v2/auth/authenticate',
      payload: { strategy: 'passkey', client: 'api', response: authenticator.authenticate(await authenticationOptions()) },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ isNewUser: false, tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.any(String) });
  });

  it('accepts an authenticator that does not verify the user (UV is preferred, not required)', async () => {
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const { response } = authenticator.register(await registrationOptions(), { userVerified: false });
    expect((await authenticate(response)).statusCode).toBe(200);
    const again = await authenticate(authenticator.authenticate(await authenticationOptions(), { userVerified: false }));
    expect(again.statusCode, again.body).toBe(200);
  });

  it('accepts an authenticator that never counts (synced passkeys report 0 every time)', async () => {
    const { authenticator, credential } = await registered();
    for (let i = 0; i < 2; i++) {
      const response = await authenticate(authenticator.authenticate(await authenticationOptions(), { signCount: 0 }));
      expect(response.statusCode, response.body).toBe(200);
    }
    expect(await storedCredential(credential.id)).toMatchObject({ counter: 0, counter_regressed_at: null });
  });

  describe('refuses, and signs nobody in', () => {
    let accountsBefore: number;
    beforeAll(async () => {
      accountsBefore = await passkeyAccountCount();
    });
    afterAll(async () => {
      expect(await passkeyAccountCount()).toBe(accountsBefore);
    });

    it('a replayed registration, and a replayed assertion', async () => {
      const authenticator = new SoftwareAuthenticator(ORIGIN);
      const { response } = authenticator.register(await registrationOptions());
      expect((await authenticate(response)).statusCode).toBe(200);
      accountsBefore++;
      expectError(await authenticate(response), 400, 'CHALLENGE_INVALID');

      const assertion = authenticator.authenticate(await authenticationOptions());
      expect((await authenticate(assertion)).statusCode).toBe(200);
      expectError(await authenticate(assertion), 400, 'CHALLENGE_INVALID');
    });

    it('a challenge it never issued, and an expired one', async () => {
      const { authenticator } = await registered();
      accountsBefore++;
      const options = await authenticationOptions();
      const forged = { ...options, challenge: Buffer.alloc(32, 7).toString('base64url') };
      expectError(await authenticate(authenticator.authenticate(forged)), 400, 'CHALLENGE_INVALID');

      const expiring = await authenticationOptions();
      await db()
        .updateTable('verifications')
        .set({ expires_at: sql<Date>`now() - interval '1 second'` })
        .where('challenge_hash', '=', hasher.hash('challenge', `passkey:${expiring.challenge}`))
        .execute();
      expectError(await authenticate(authenticator.authenticate(expiring)), 400, 'CHALLENGE_INVALID');
    });

    it('a registration made on another origin, and the challenge is spent by the attempt', async () => {
      const options = await registrationOptions();
      const authenticator = new SoftwareAuthenticator(ORIGIN);
      expectError(await authenticate(authenticator.register(options, { origin: 'https://evil.example' }).response), 401, 'PROOF_INVALID', /origin/);
      // Consumed before the checks: an honest answer to the same challenge is no longer accepted.
      expectError(await authenticate(authenticator.register(options).response), 400, 'CHALLENGE_INVALID');
    });

    it('an assertion made on another origin', async () => {
      const { authenticator, credential } = await registered();
      accountsBefore++;
      const response = authenticator.authenticate(await authenticationOptions(), { origin: 'https://id.example.evil.example' });
      expectError(await authenticate(response), 401, 'PROOF_INVALID', /origin/);
      expect((await storedCredential(credential.id))?.last_used_at).toBeNull();
    });

    it('a registration, and an assertion, for another RP ID', async () => {
      const authenticator = new SoftwareAuthenticator(ORIGIN);
      const registration = authenticator.register(await registrationOptions(), { rpId: 'evil.example' }).response;
      expectError(await authenticate(registration), 401, 'PROOF_INVALID', /relying party/);

      const { authenticator: holder } = await registered();
      accountsBefore++;
      const assertion = holder.authenticate(await authenticationOptions(), { rpId: 'example' });
      expectError(await authenticate(assertion), 401, 'PROOF_INVALID', /relying party/);
    });

    it('a registration, and an assertion, without user presence (UP flag clear)', async () => {
      const authenticator = new SoftwareAuthenticator(ORIGIN);
      const registration = authenticator.register(await registrationOptions(), { userPresent: false }).response;
      expectError(await authenticate(registration), 401, 'PROOF_INVALID', /presence/);

      const { authenticator: holder } = await registered();
      accountsBefore++;
      const assertion = holder.authenticate(await authenticationOptions(), { userPresent: false, userVerified: false });
      expectError(await authenticate(assertion), 401, 'PROOF_INVALID', /presence/);
    });

    it('an assertion whose signature, or authenticator data, was changed after signing', async () => {
      const { authenticator, credential } = await registered();
      accountsBefore++;
      const signed = authenticator.authenticate(await authenticationOptions());
      const badSignature = { ...signed.response, signature: flipBit(signed.response.signature, -1) };
      expectError(await authenticate({ ...signed, response: badSignature }), 401, 'PROOF_INVALID', /^The passkey could not be verified\.$/);

      // The UV flag (0x04 of byte 32) turned off, the counter (bytes 33–36) raised: no check but the
      // signature looks at either.
      const other = authenticator.authenticate(await authenticationOptions());
      const flagsChanged = { ...other.response, authenticatorData: flipBit(other.response.authenticatorData, 32, 0x04) };
      expectError(await authenticate({ ...other, response: flagsChanged }), 401, 'PROOF_INVALID');
      const third = authenticator.authenticate(await authenticationOptions());
      const counterRaised = { ...third.response, authenticatorData: flipBit(third.response.authenticatorData, 34) };
      expectError(await authenticate({ ...third, response: counterRaised }), 401, 'PROOF_INVALID');

      expect(await storedCredential(credential.id)).toMatchObject({ counter: 0, last_used_at: null, counter_regressed_at: null });
    });

    it('an assertion from a credential nobody registered, with the same answer as a bad signature', async () => {
      await registered();
      accountsBefore++;
      const stranger = new SoftwareAuthenticator(ORIGIN);
      stranger.register(await registrationOptions()); // made on the device, never sent
      const response = stranger.authenticate(await authenticationOptions());
      expectError(await authenticate(response), 401, 'PROOF_INVALID', /^The passkey could not be verified\.$/);
    });

    it('a registration claiming a credential id another account holds (CREDENTIAL_IN_USE), leaving the owner\'s key in place', async () => {
      const { authenticator: owner, credential } = await registered();
      accountsBefore++;
      const before = await storedCredential(credential.id);
      const attacker = new SoftwareAuthenticator(ORIGIN);
      const { response } = attacker.register(await registrationOptions(), { credentialId: credential.id });
      expectError(await authenticate(response), 409, 'CREDENTIAL_IN_USE');
      expect(await storedCredential(credential.id)).toEqual(before);
      // The attacker's key does not sign in as the owner; the owner's still does.
      expectError(await authenticate(attacker.authenticate(await authenticationOptions())), 401, 'PROOF_INVALID');
      expect((await authenticate(owner.authenticate(await authenticationOptions()))).statusCode).toBe(200);
    });

    it('a registration whose id is not the one in its authenticator data', async () => {
      const { credential } = await registered();
      accountsBefore++;
      const { response } = new SoftwareAuthenticator(ORIGIN).register(await registrationOptions());
      expectError(await authenticate({ ...response, id: credential.id, rawId: credential.id }), 401, 'PROOF_INVALID');
    });

    it('an authentication response to a register challenge, and a registration to an authenticate challenge', async () => {
      const { authenticator } = await registered();
      accountsBefore++;
      const registerOptions = await registrationOptions();
      const assertion = authenticator.authenticate({ challenge: registerOptions.challenge, rpId: RP_ID });
      expectError(await authenticate(assertion), 400, 'CHALLENGE_INVALID');
      // Spent: the challenge is gone for its own ceremony too.
      expectError(await authenticate(new SoftwareAuthenticator(ORIGIN).register(registerOptions).response), 400, 'CHALLENGE_INVALID');

      const authenticateOptions = await authenticationOptions();
      const registration = new SoftwareAuthenticator(ORIGIN).register({ ...registerOptions, challenge: authenticateOptions.challenge }).response;
      expectError(await authenticate(registration), 400, 'CHALLENGE_INVALID');
    });

    it('a counter that did not grow: flagged as a cloned authenticator, with its event, and refused', async () => {
      const { authenticator, credential } = await registered();
      accountsBefore++;
      expect((await authenticate(authenticator.authenticate(await authenticationOptions(), { signCount: 5 }))).statusCode).toBe(200);
      const account = await db()
        .selectFrom('accounts')
        .select(['id', 'accountability_profile_id as profileId'])
        .where('lookup_key', '=', hasher.hash('account', `passkey:${credential.id}`))
        .executeTakeFirstOrThrow();

      for (const signCount of [5, 3]) {
        const clone = authenticator.authenticate(await authenticationOptions(), { signCount });
        expectError(await authenticate(clone), 401, 'PROOF_INVALID');
      }
      const stored = await storedCredential(credential.id);
      expect(stored?.counter).toBe(5);
      expect(stored?.counter_regressed_at).toBeInstanceOf(Date);
      const events = await db()
        .selectFrom('outbox')
        .select(['type', 'payload'])
        .where('type', '=', 'PasskeyCounterRegressed')
        .where(sql<boolean>`payload->>'accountId' = ${account.id}`)
        .execute();
      expect(events).toEqual([
        { type: 'PasskeyCounterRegressed', payload: { accountId: account.id, accountabilityProfileId: account.profileId } },
        { type: 'PasskeyCounterRegressed', payload: { accountId: account.id, accountabilityProfileId: account.profileId } },
      ]);
      // The original, counting on, still signs in.
      const next = await authenticate(authenticator.authenticate(await authenticationOptions(), { signCount: 6 }));
      expect(next.statusCode, next.body).toBe(200);
    });

    it('a signature that does not verify does not flag anyone (the counter is judged only after the signature)', async () => {
      const { authenticator, credential } = await registered();
      accountsBefore++;
      expect((await authenticate(authenticator.authenticate(await authenticationOptions(), { signCount: 9 }))).statusCode).toBe(200);
      const forged = authenticator.authenticate(await authenticationOptions(), { signCount: 2 });
      expectError(await authenticate({ ...forged, response: { ...forged.response, signature: flipBit(forged.response.signature, -1) } }), 401, 'PROOF_INVALID');
      expect(await storedCredential(credential.id)).toMatchObject({ counter: 9, counter_regressed_at: null });
    });

    it.each([
      ['no signature', (r: AuthenticationResponseJSON) => ({ ...r, response: { ...r.response, signature: undefined } })],
      ['a signature that is not base64url', (r: AuthenticationResponseJSON) => ({ ...r, response: { ...r.response, signature: 'a+b/c=' } })],
      ['an oversized clientDataJSON', (r: AuthenticationResponseJSON) => ({ ...r, response: { ...r.response, clientDataJSON: 'A'.repeat(4097) } })],
      ['a type other than public-key', (r: AuthenticationResponseJSON) => ({ ...r, type: 'password' })],
      ['a field WebAuthn does not define', (r: AuthenticationResponseJSON) => ({ ...r, response: { ...r.response, extra: 'x' } })],
    ])('%s (schema), without spending the challenge', async (_case, change) => {
      const { authenticator } = await registered();
      accountsBefore++;
      const assertion = authenticator.authenticate(await authenticationOptions());
      expectError(await authenticate(change(assertion)), 400, 'VALIDATION_FAILED');
      expect((await authenticate(assertion)).statusCode).toBe(200);
    });
  });

  it(`lets exactly one of 10 concurrent submissions of one assertion through (${databaseKind})`, async () => {
    const { authenticator } = await registered();
    const assertion = authenticator.authenticate(await authenticationOptions());
    const responses = await Promise.all(Array.from({ length: 10 }, () => authenticate(assertion)));
    const statuses = responses.map((response) => response.statusCode).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(400)]);
  });

  it(`lets only one of two concurrent assertions carrying the same counter through, and flags the other (${databaseKind})`, async () => {
    const { authenticator, credential } = await registered();
    const [a, b] = await Promise.all([authenticationOptions(), authenticationOptions()]);
    const responses = await Promise.all([
      authenticate(authenticator.authenticate(a, { signCount: 4 })),
      authenticate(authenticator.authenticate(b, { signCount: 4 })),
    ]);
    expect(responses.map((response) => response.statusCode).sort()).toEqual([200, 401]);
    expect(await storedCredential(credential.id)).toMatchObject({ counter: 4, counter_regressed_at: expect.any(Date) });
  });

  it('never writes the credential id or the challenge to the logs', async () => {
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const options = await registrationOptions();
    const { response, credential } = authenticator.register(options);
    expect((await authenticate(response)).statusCode).toBe(200);
    const logs = test.logs.join('\n');
    expect(logs).not.toContain(credential.id);
    expect(logs).not.toContain(options.challenge);
  });
});

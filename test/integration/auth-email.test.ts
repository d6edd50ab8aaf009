import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailBox, normalizeEmail } from '../../src/crypto/email-box.js';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, newPerson, SESSION_COOKIE } from '../support/browser.js';
import { SmtpSink } from '../support/smtp-sink.js';

const ORIGIN = 'https://id.example';
const SENDS_PER_RECIPIENT = 5;

let test: TestApp;
let sink: SmtpSink;
let dataDir: string;
let emails: EmailBox;
beforeAll(async () => {
  sink = await SmtpSink.start();
  // The development mail drop writes under DATA_DIR: never the working tree.
  dataDir = await mkdtemp(join(tmpdir(), 'personae-auth-email-'));
  test = await startTestApp({
    env: {
      SMTP_URL: sink.url,
      DATA_DIR: dataDir,
      PUBLIC_ORIGIN: ORIGIN,
      EMAIL_CODE_SENDS_PER_RECIPIENT: String(SENDS_PER_RECIPIENT),
      // Every request here comes from one address: the per-client limit stays out of the way.
      LOGIN_ATTEMPTS_PER_CLIENT: '10000',
    },
  });
  emails = new EmailBox(test.config.secrets.emailKeys, new TokenHasher(test.config.secrets.tokenHashKey));
}, 60_000);
afterAll(async () => {
  await test?.close();
  await sink?.close();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

const db = () => test.database.db;
const errorBody = (code: string) => ({ code, message: expect.any(String), correlationId: expect.any(String) });
const address = () => newPerson('mail').email;

function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual(errorBody(code));
}

function askCode(email: string, browser?: Browser): Promise<LightMyRequestResponse> {
  const payload = { strategy: 'email', email };
  return browser
    ? browser.request('POST', '/api/v2/auth/challenge', payload)
    : test.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload });
}

function signIn(email: string, code: string, browser?: Browser, extra: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
  const payload = { strategy: 'email', email, code, ...extra };
  return browser
    ? browser.request('POST', '/api/v2/auth/authenticate', payload)
    : test.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload });
}

/** Asks for a code and answers the one the SMTP server received. */
async function mailedCode(email: string): Promise<string> {
  const response = await askCode(email);
  expect(response.statusCode, response.body).toBe(200);
  return sink.lastCodeFor(email);
}

const otherThan = (code: string) => (code === '000000' ? '000001' : '000000');

async function codeRecords(email: string) {
  return db()
    .selectFrom('verifications')
    .selectAll()
    .where('strategy', '=', 'email')
    .where('subject_key', '=', emails.lookupKey(normalizeEmail(email)))
    .orderBy('created_at')
    .execute();
}

async function accountOf(email: string) {
  return db().selectFrom('accounts').selectAll().where('type', '=', 'email').where('lookup_key', '=', emails.lookupKey(normalizeEmail(email))).executeTakeFirst();
}

describe('POST /api/v2/auth/challenge {strategy: email}', () => {
  it('mails a six-digit code over SMTP and answers only that it was sent', async () => {
    const email = address();
    const response = await askCode(email);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ sent: true, expiresIn: 600, correlationId: expect.any(String) });
    const [mail] = sink.to(email);
    expect(mail).toMatchObject({ recipients: [email], subject: 'Your sign-in code for id.example' });
    expect(mail?.raw).toMatch(/^From: personae <no-reply@localhost>$/m);
    expect(mail?.text).toMatch(/^ {4}\d{6}$/m);
    expect(mail?.text).toContain('valid for 10 minutes');
    expect(mail?.text).toContain('Nobody from id.example will ever ask you for this code');
  });

  it('is listed among the strategies', async () => {
    const response = await test.app.inject({ method: 'GET', url: '/api/v2/auth/strategies' });
    expect(response.json().strategies).toContain('email');
  });

  it('refuses what is not an address, and unknown fields', async () => {
    for (const payload of [
      { strategy: 'email' },
      { strategy: 'email', email: 'no-at-sign' },
      { strategy: 'email', email: `${'a'.repeat(250)}@x.org` },
      { strategy: 'email', email: address(), code: '123456' },
    ]) {
      expectError(await test.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload }), 400, 'VALIDATION_FAILED');
    }
  });

  it(`limits sends per recipient (${SENDS_PER_RECIPIENT} a window), answering 429 with Retry-After`, async () => {
    const email = address();
    for (let i = 0; i < SENDS_PER_RECIPIENT; i++) expect((await askCode(email)).statusCode).toBe(200);
    const refused = await askCode(email);
    expectError(refused, 429, 'TOO_MANY_ATTEMPTS');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(sink.to(email)).toHaveLength(SENDS_PER_RECIPIENT);
    // The address's case and spacing do not make it another recipient.
    expectError(await askCode(`  ${email.toUpperCase()}`), 429, 'TOO_MANY_ATTEMPTS');
  });
});

describe('POST /api/v2/auth/authenticate {strategy: email}', () => {
  it('signs in with the mailed code: a new person first (isNewUser), the same account and persona after', async () => {
    const email = address();
    const browser = new Browser(test.app);
    const first = await signIn(email, await mailedCode(email), browser);
    expect(first.statusCode, first.body).toBe(200);
    const body = first.json();
    expect(body).toEqual({
      isNewUser: true,
      profiles: [{ id: expect.any(String), name: expect.any(String), isActive: true, trustLevel: 'NEW', sessionWalletAddress: null }],
      correlationId: expect.any(String),
    });
    expect(browser.sessionCookie).toBeDefined();
    const account = await accountOf(email);
    expect(account).toMatchObject({ type: 'email', verified: true });
    expect(await browser.session()).toMatchObject({ anonymous: false, persona: { id: body.profiles[0].id } });

    const again = await signIn(email.toUpperCase(), await mailedCode(email), new Browser(test.app));
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ isNewUser: false, profiles: [{ id: body.profiles[0].id }] });
    expect((await accountOf(email))?.id).toBe(account?.id);
  });

  it('gives API clients tokens instead of a cookie', async () => {
    const email = address();
    const response = await signIn(email, await mailedCode(email), undefined, { client: 'api' });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ isNewUser: true, tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect(response.cookies.find((cookie) => cookie.name === SESSION_COOKIE)).toBeUndefined();
  });

  it('refuses a wrong code with 401 PROOF_INVALID; the right one still works', async () => {
    const email = address();
    const code = await mailedCode(email);
    expectError(await signIn(email, otherThan(code)), 401, 'PROOF_INVALID');
    expect((await signIn(email, code)).statusCode).toBe(200);
  });

  it('refuses the 6th attempt even with the right code', async () => {
    const email = address();
    const code = await mailedCode(email);
    for (let i = 0; i < 5; i++) expectError(await signIn(email, otherThan(code)), 401, 'PROOF_INVALID');
    expectError(await signIn(email, code), 400, 'CHALLENGE_INVALID');
    expect(await accountOf(email)).toBeUndefined();
  });

  it('refuses an expired code', async () => {
    const email = address();
    const code = await mailedCode(email);
    await db()
      .updateTable('verifications')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('subject_key', '=', emails.lookupKey(normalizeEmail(email)))
      .execute();
    expectError(await signIn(email, code), 400, 'CHALLENGE_INVALID');
  });

  it('refuses a replayed code', async () => {
    const email = address();
    const code = await mailedCode(email);
    expect((await signIn(email, code)).statusCode).toBe(200);
    expectError(await signIn(email, code), 400, 'CHALLENGE_INVALID');
  });

  it('refuses an older code once a newer one was sent', async () => {
    const email = address();
    const older = await mailedCode(email);
    const newer = await mailedCode(email);
    // 1 in a million: the two draws are equal, and "the older code" cannot be told apart.
    if (older !== newer) expectError(await signIn(email, older), 401, 'PROOF_INVALID');
    expect((await codeRecords(email)).map((record) => record.consumed_at !== null)).toEqual([true, false]);
    expect((await signIn(email, newer)).statusCode).toBe(200);
  });

  it('refuses a code for another address, and a code that is not six digits', async () => {
    const [alice, bob] = [address(), address()];
    const code = await mailedCode(alice);
    await mailedCode(bob);
    if (code !== sink.lastCodeFor(bob)) expectError(await signIn(bob, code), 401, 'PROOF_INVALID');
    for (const wrong of ['12345', '1234567', 'abcdef', ' 123456']) expectError(await signIn(alice, wrong), 400, 'VALIDATION_FAILED');
    expect((await signIn(alice, code)).statusCode).toBe(200);
  });

  it('never stores a code, or an address, in the clear', async () => {
    const email = address();
    const code = await mailedCode(email);
    const rows = await sql<{ row: string }>`select v::text as row from verifications v`.execute(db());
    expect(rows.rows.length).toBeGreaterThan(0);
    for (const { row } of rows.rows) {
      expect(row).not.toContain(code);
      expect(row).not.toContain(Buffer.from(code).toString('hex'));
      expect(row).not.toContain(email);
    }
    const [record] = await codeRecords(email);
    expect(record?.state).toEqual({});
  });

  it('of 10 concurrent submissions of the right code, exactly one signs in', async () => {
    const email = address();
    const code = await mailedCode(email);
    const responses = await Promise.all(Array.from({ length: 10 }, () => signIn(email, code)));
    expect(responses.filter((response) => response.statusCode === 200)).toHaveLength(1);
    for (const response of responses.filter((r) => r.statusCode !== 200)) expectError(response, 400, 'CHALLENGE_INVALID');
    const people = await db()
      .selectFrom('accounts')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('lookup_key', '=', emails.lookupKey(normalizeEmail(email)))
      .executeTakeFirstOrThrow();
    expect(Number(people.n)).toBe(1);
  });
});

describe('no account enumeration', () => {
  it('answers a known and an unknown address alike: challenge, wrong code, missing code; both get a code', async () => {
    const known = address();
    expect((await signIn(known, await mailedCode(known))).statusCode).toBe(200);
    const unknown = address();
    expect(await accountOf(unknown)).toBeUndefined();
    const strip = (response: LightMyRequestResponse) => ({
      status: response.statusCode,
      body: { ...response.json(), correlationId: 'x' },
      headers: Object.keys(response.headers).filter((name) => !['x-correlation-id', 'date'].includes(name)).sort(),
    });

    // Neither has a live code yet (the known one's was used).
    expect(strip(await signIn(known, '123456'))).toEqual(strip(await signIn(unknown, '123456')));
    const [knownChallenge, unknownChallenge] = [await askCode(known), await askCode(unknown)];
    expect(strip(knownChallenge)).toEqual(strip(unknownChallenge));
    expect(knownChallenge.statusCode).toBe(200);
    // The same work: a code stored and mailed for both.
    expect(sink.to(known)).toHaveLength(2);
    expect(sink.to(unknown)).toHaveLength(1);
    expect((await codeRecords(unknown)).filter((record) => record.consumed_at === null)).toHaveLength(1);
    expect((await codeRecords(known)).filter((record) => record.consumed_at === null)).toHaveLength(1);
    const wrongKnown = await signIn(known, otherThan(sink.lastCodeFor(known)));
    const wrongUnknown = await signIn(unknown, otherThan(sink.lastCodeFor(unknown)));
    expect(strip(wrongKnown)).toEqual(strip(wrongUnknown));
    expect(wrongKnown.statusCode).toBe(401);
    // Only now, with its code, does the unknown address become an account.
    expect((await signIn(unknown, sink.lastCodeFor(unknown))).json()).toMatchObject({ isNewUser: true });
  });
});

describe('an address registered with a password by someone else (pre-hijacking)', () => {
  it('goes to whoever proves the mailbox: same account, verified, the old password and its session dead', async () => {
    const victim = newPerson('victim');
    const attacker = new Browser(test.app);
    const registered = await attacker.register(victim);
    expect(registered.statusCode, registered.body).toBe(201);
    const personaId = registered.json().personaId as string;
    expect(await accountOf(victim.email)).toMatchObject({ verified: false });
    expect((await attacker.session()).anonymous).toBe(false);

    const owner = new Browser(test.app);
    const response = await signIn(victim.email, await mailedCode(victim.email), owner);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ isNewUser: false, profiles: [{ id: personaId }] });
    expect(await accountOf(victim.email)).toMatchObject({ verified: true });

    expectError(await new Browser(test.app).login(victim), 401, 'INVALID_CREDENTIALS');
    const attackerSession = await attacker.session();
    expect(attackerSession.persona?.id).not.toBe(personaId);
    expect(await owner.session()).toMatchObject({ anonymous: false, persona: { id: personaId } });
  });
});

describe('logs', () => {
  it('never carry an address or a code', async () => {
    const email = address();
    const code = await mailedCode(email);
    await signIn(email, otherThan(code));
    await signIn(email, code);
    const text = test.logs.join('\n');
    expect(text).not.toContain(email);
    // As a number of its own: six digits also turn up inside timestamps and durations by chance.
    expect(text).not.toMatch(new RegExp(`(?<![0-9])${code}(?![0-9])`));
    expect(text).not.toContain(email.split('@')[0]!);
  });
});

describe('a mail server that refuses the recipient', () => {
  it('answers 500 INTERNAL_ERROR and logs the failure by its SMTP codes, without the address', async () => {
    const refusing = await SmtpSink.start({ rejectRecipients: true });
    const failing = await startTestApp({ env: { SMTP_URL: refusing.url, DATA_DIR: dataDir } });
    try {
      const email = address();
      const response = await failing.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'email', email } });
      expectError(response, 500, 'INTERNAL_ERROR');
      const text = failing.logs.join('\n');
      expect(text).toContain('EENVELOPE 550 RCPT TO');
      expect(text).not.toContain(email);
      expect(text).not.toContain(email.split('@')[0]!);
    } finally {
      await failing.close();
      await refusing.close();
    }
  });
});

describe('without SMTP_URL', () => {
  it('outside production: codes go to <DATA_DIR>/mail and GET /api/v2/dev/inbox shows them', async () => {
    const dir = await mkdtemp(join(dataDir, 'dev-'));
    const dev = await startTestApp({ env: { NODE_ENV: 'development', DATA_DIR: dir } });
    try {
      const email = address();
      const asked = await dev.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'email', email } });
      expect(asked.statusCode, asked.body).toBe(200);
      const inbox = await dev.app.inject({ method: 'GET', url: '/api/v2/dev/inbox' });
      expect(inbox.statusCode, inbox.body).toBe(200);
      const [message] = inbox.json().messages;
      expect(message).toMatchObject({ to: email, subject: 'Your sign-in code for localhost:3000' });
      const code = /^\s+(\d{6})$/m.exec(message.text)?.[1];
      const signedIn = await dev.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload: { strategy: 'email', email, code } });
      expect(signedIn.statusCode, signedIn.body).toBe(200);
      expect(sink.to(email)).toHaveLength(0);
    } finally {
      await dev.close();
    }
  });

  it('with SMTP_URL, there is no inbox', async () => {
    expectError(await test.app.inject({ method: 'GET', url: '/api/v2/dev/inbox' }), 404, 'NOT_FOUND');
  });

  it('in production: the method is not offered, and there is no inbox', async () => {
    const production = await startTestApp({ env: { NODE_ENV: 'production', DATA_DIR: dataDir, PUBLIC_ORIGIN: ORIGIN } });
    try {
      const listed = await production.app.inject({ method: 'GET', url: '/api/v2/auth/strategies' });
      expect(listed.json().strategies).not.toContain('email');
      const asked = await production.app.inject({
        method: 'POST',
        url: '/api/v2/auth/challenge',
        payload: { strategy: 'email', email: address() },
      });
      expect(asked.statusCode, asked.body).toBe(400);
      expect(['VALIDATION_FAILED', 'STRATEGY_UNAVAILABLE']).toContain(asked.json().code);
      expectError(await production.app.inject({ method: 'GET', url: '/api/v2/dev/inbox' }), 404, 'NOT_FOUND');
    } finally {
      await production.close();
    }
  });
});

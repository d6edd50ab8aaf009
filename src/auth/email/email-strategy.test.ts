import { createAccountSecretStore } from '../../modules/accounts/account-secret-repository.js';
import { openTerritoryDatabases } from '../../db/territory-databases.js';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { testEnvironment } from '../../../test/support/app.js';
import { SmtpSink } from '../../../test/support/smtp-sink.js';
import { systemClock } from '../../clock.js';
import { loadConfig, type Config } from '../../config.js';
import { EmailBox, normalizeEmail } from '../../crypto/email-box.js';
import { TokenHasher } from '../../crypto/tokens.js';
import { MemoryAttemptLimiter } from '../../rate-limit/attempt-limiter.js';
import type { StrategyDeps } from '../strategies.js';
import type { CeremonyContext, SignInStrategy } from '../strategy.js';
import { createVerificationRepository } from '../verification-repository.js';
import { CODE_TTL_SECONDS, MAX_ATTEMPTS, codeMail, codeSecret, newCode } from './email-code.js';
import { createEmailCodeRepository } from './email-code-repository.js';
import { createEmailStrategy, MailDeliveryError } from './email-strategy.js';
import { MailDrop, mailDropDir, readMailDrop } from './mail-drop.js';
import { openMailer, SmtpMailer } from './mailer.js';

let database: TestDatabase;
let sink: SmtpSink;
let dataDir: string;
beforeAll(async () => {
  database = await openTestDatabase();
  sink = await SmtpSink.start();
  dataDir = await mkdtemp(join(tmpdir(), 'personae-email-'));
}, 60_000);
afterAll(async () => {
  await sink?.close();
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

const db = () => database.db;
const context = (client = '192.0.2.1'): CeremonyContext => ({ client, purpose: 'sign-in', accountId: null });
let counter = 0;
const newAddress = () => `person.${process.pid}.${Date.now().toString(36)}.${++counter}@example.org`;

function depsFor(env: Record<string, string> = {}): StrategyDeps {
  const config = loadConfig(testEnvironment({ SMTP_URL: sink.url, DATA_DIR: dataDir, ...env }));
  const hasher = new TokenHasher(config.secrets.tokenHashKey);
  const territories = openTerritoryDatabases(db(), {});
  return {
    config,
    db: db(),
    verifications: createVerificationRepository(db()),
    hasher,
    emails: new EmailBox(config.secrets.emailKeys, hasher),
    limiter: new MemoryAttemptLimiter(systemClock),
    clock: systemClock,
    accountSecrets: createAccountSecretStore(db(), territories),
    territories,
  };
}

function strategyFor(deps: StrategyDeps): SignInStrategy {
  const strategy = createEmailStrategy(deps);
  if (!strategy) throw new Error('email strategy not configured');
  return strategy;
}

async function recordsOf(deps: StrategyDeps, email: string) {
  return db()
    .selectFrom('verifications')
    .selectAll()
    .where('strategy', '=', 'email')
    .where('subject_key', '=', deps.emails.lookupKey(normalizeEmail(email)))
    .orderBy('created_at')
    .execute();
}

describe('email codes', () => {
  it('mails a six-digit code that signs in once, as the normalized address, proven and not step-up capable', async () => {
    const deps = depsFor();
    const strategy = strategyFor(deps);
    const email = newAddress();
    const typed = `  ${email.toUpperCase()} `;

    expect(await strategy.challenge({ email: typed }, context())).toEqual({ sent: true, expiresIn: CODE_TTL_SECONDS });
    const [mail] = sink.to(email);
    expect(mail?.subject).toBe('Your sign-in code for localhost:3000');
    const code = sink.lastCodeFor(email);
    expect(code).toMatch(/^\d{6}$/);
    expect(mail?.text).toContain('valid for 10 minutes');
    expect(mail?.text).toMatch(/Nobody from localhost:3000 will ever ask you for this code/);

    const identity = await strategy.verify({ email: typed, code }, context());
    expect(identity).toEqual({ type: 'email', identifier: email, verified: true });
    await expect(strategy.verify({ email, code }, context())).rejects.toMatchObject({ code: 'CHALLENGE_INVALID' });
  });

  it('stores only a keyed hash bound to the record: the code is nowhere in the table, in any form', async () => {
    const deps = depsFor();
    const strategy = strategyFor(deps);
    const email = newAddress();
    await strategy.challenge({ email }, context());
    const code = sink.lastCodeFor(email);
    const [record] = await recordsOf(deps, email);
    expect(record).toBeDefined();
    expect(Buffer.from(record!.challenge_hash)).toEqual(deps.hasher.hash('challenge', codeSecret(record!.id, code)));
    // Not an unbound hash of the code either, which the same six digits of someone else would share.
    expect(Buffer.from(record!.challenge_hash)).not.toEqual(deps.hasher.hash('challenge', `email:${code}`));
    expect(record!.state).toEqual({});
    const dump = await sql<{ row: string }>`select v::text as row from verifications v`.execute(db());
    for (const { row } of dump.rows) {
      expect(row).not.toContain(code);
      expect(row.toLowerCase()).not.toContain(email.toLowerCase());
      expect(row).not.toContain(Buffer.from(code).toString('hex'));
    }
    expect(record!.expires_at.getTime() - record!.created_at.getTime()).toBe(CODE_TTL_SECONDS * 1000);
  });

  it('refuses a wrong code with PROOF_INVALID, counting the attempt', async () => {
    const deps = depsFor();
    const strategy = strategyFor(deps);
    const email = newAddress();
    await strategy.challenge({ email }, context());
    const code = sink.lastCodeFor(email);
    const wrong = code === '000000' ? '000001' : '000000';
    await expect(strategy.verify({ email, code: wrong }, context())).rejects.toMatchObject({ code: 'PROOF_INVALID' });
    expect((await recordsOf(deps, email))[0]?.attempts).toBe(1);
    expect(await strategy.verify({ email, code }, context())).toMatchObject({ identifier: email });
  });

  it(`refuses the ${MAX_ATTEMPTS + 1}th attempt even with the right code`, async () => {
    const deps = depsFor();
    const strategy = strategyFor(deps);
    const email = newAddress();
    await strategy.challenge({ email }, context());
    const code = sink.lastCodeFor(email);
    const wrong = code === '999999' ? '999998' : '999999';
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      await expect(strategy.verify({ email, code: wrong }, context())).rejects.toMatchObject({ code: 'PROOF_INVALID' });
    }
    await expect(strategy.verify({ email, code }, context())).rejects.toMatchObject({ code: 'CHALLENGE_INVALID' });
    expect((await recordsOf(deps, email))[0]?.attempts).toBe(MAX_ATTEMPTS);
  });

  it('refuses an expired code', async () => {
    const deps = depsFor();
    const strategy = strategyFor(deps);
    const email = newAddress();
    await strategy.challenge({ email }, context());
    const code = sink.lastCodeFor(email);
    await db()
      .updateTable('verifications')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('subject_key', '=', deps.emails.lookupKey(normalizeEmail(email)))
      .execute();
    await expect(strategy.verify({ email, code }, context())).rejects.toMatchObject({ code: 'CHALLENGE_INVALID' });
  });

  it('keeps only the newest code alive: asking again spends the older one', async () => {
    const deps = depsFor();
    const strategy = strategyFor(deps);
    const email = newAddress();
    await strategy.challenge({ email }, context());
    const older = sink.lastCodeFor(email);
    await strategy.challenge({ email }, context());
    const newer = sink.lastCodeFor(email);
    const records = await recordsOf(deps, email);
    expect(records.map((record) => record.consumed_at === null)).toEqual([false, true]);
    if (older !== newer) {
      await expect(strategy.verify({ email, code: older }, context())).rejects.toMatchObject({ code: 'PROOF_INVALID' });
    }
    expect(await strategy.verify({ email, code: newer }, context())).toMatchObject({ identifier: email });
  });

  it('answers the same for an address that never asked and for one whose code is spent, expired or exhausted', async () => {
    const deps = depsFor();
    const strategy = strategyFor(deps);
    const never = strategy.verify({ email: newAddress(), code: '123456' }, context());
    await expect(never).rejects.toMatchObject({ code: 'CHALLENGE_INVALID' });
    const message = await never.catch((error: Error) => error.message);
    const email = newAddress();
    await strategy.challenge({ email }, context());
    await strategy.verify({ email, code: sink.lastCodeFor(email) }, context());
    const spent = await strategy.verify({ email, code: '123456' }, context()).catch((error: Error) => error.message);
    expect(spent).toBe(message);
  });

  it('limits sends per recipient in the database, with the time left, whatever the client', async () => {
    const deps = depsFor({ EMAIL_CODE_SENDS_PER_RECIPIENT: '2', EMAIL_CODE_SEND_WINDOW_SECONDS: '600' });
    const strategy = strategyFor(deps);
    const email = newAddress();
    await strategy.challenge({ email }, context('192.0.2.10'));
    await strategy.challenge({ email }, context('192.0.2.11'));
    const refused = await strategy.challenge({ email }, context('192.0.2.12')).catch((error) => error);
    expect(refused).toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });
    expect(refused.retryAfterSeconds).toBeGreaterThan(590);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(600);
    expect(sink.to(email)).toHaveLength(2);
    // Another recipient is not affected.
    expect(await strategy.challenge({ email: newAddress() }, context('192.0.2.12'))).toMatchObject({ sent: true });
  });

  it('holds the per-recipient limit under concurrent requests', async () => {
    const deps = depsFor({ EMAIL_CODE_SENDS_PER_RECIPIENT: '3' });
    const strategy = strategyFor(deps);
    const email = newAddress();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => strategy.challenge({ email }, context(`192.0.2.${100 + i}`))),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(3);
    for (const result of results.filter((r) => r.status === 'rejected')) {
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });
    }
    const records = await recordsOf(deps, email);
    expect(records).toHaveLength(3);
    expect(records.filter((record) => record.consumed_at === null)).toHaveLength(1);
  });

  it('limits sends per client across recipients, by a keyed hash of the client', async () => {
    const deps = depsFor({ LOGIN_ATTEMPTS_PER_CLIENT: '3' });
    const strategy = strategyFor(deps);
    for (let i = 0; i < 3; i++) await strategy.challenge({ email: newAddress() }, context('198.51.100.7'));
    const email = newAddress();
    await expect(strategy.challenge({ email }, context('198.51.100.7'))).rejects.toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });
    expect(sink.to(email)).toHaveLength(0);
    expect(await recordsOf(deps, email)).toHaveLength(0);
    expect(await strategy.challenge({ email }, context('198.51.100.8'))).toMatchObject({ sent: true });
  });

  it('of 10 concurrent submissions of the right code, exactly one succeeds', async () => {
    const deps = depsFor();
    const strategy = strategyFor(deps);
    const email = newAddress();
    await strategy.challenge({ email }, context());
    const code = sink.lastCodeFor(email);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => strategy.verify({ email, code }, context())));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results.filter((r) => r.status === 'rejected')) {
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'CHALLENGE_INVALID' });
    }
    expect((await recordsOf(deps, email))[0]?.attempts).toBeLessThanOrEqual(MAX_ATTEMPTS);
  });

  it('fails with the transport\'s codes only, never the address, when the mail server cannot be reached or refuses', async () => {
    const unreachable = strategyFor(depsFor({ SMTP_URL: 'smtp://127.0.0.1:1' }));
    const error = await unreachable.challenge({ email: newAddress() }, context()).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(MailDeliveryError);
    expect(error.message).toMatch(/^The sign-in code could not be sent \(E[A-Z]+ CONN\)\.$/);

    const refusing = await SmtpSink.start({ rejectRecipients: true });
    try {
      const email = newAddress();
      const refused = await strategyFor(depsFor({ SMTP_URL: refusing.url })).challenge({ email }, context()).catch((caught: Error) => caught);
      expect(refused).toBeInstanceOf(MailDeliveryError);
      expect(refused.message).toBe('The sign-in code could not be sent (EENVELOPE 550 RCPT TO).');
      expect(JSON.stringify({ ...refused, message: refused.message, stack: refused.stack })).not.toContain(email);
    } finally {
      await refusing.close();
    }
  });
});

describe('email code repository', () => {
  it('keeps equal codes of two records apart: same six digits, different hashes, no unique clash', async () => {
    const deps = depsFor();
    const codes = createEmailCodeRepository(db());
    const subject = deps.emails.lookupKey(normalizeEmail(newAddress()));
    const other = deps.emails.lookupKey(normalizeEmail(newAddress()));
    const limit = { sends: 10, windowSeconds: 3600 };
    for (const subjectKey of [subject, subject, other]) {
      const id = randomUUID();
      const challengeHash = deps.hasher.hash('challenge', codeSecret(id, '424242'));
      expect(await codes.issue({ id, subjectKey, challengeHash, ttlSeconds: 600 }, limit)).toEqual({ issued: true });
    }
    const attempt = await codes.countAttempt(subject);
    expect(attempt).not.toBeNull();
    expect(Buffer.from(attempt!.challengeHash)).toEqual(deps.hasher.hash('challenge', codeSecret(attempt!.id, '424242')));
    expect(await codes.consume(attempt!.id)).toBe(true);
    expect(await codes.consume(attempt!.id)).toBe(false);
    // The older record of the same subject was spent when the newer one was issued.
    expect(await codes.countAttempt(subject)).toBeNull();
    expect(await codes.countAttempt(other)).not.toBeNull();
  });

  it(`counts at most ${MAX_ATTEMPTS} attempts under 20 concurrent guesses`, async () => {
    const deps = depsFor();
    const codes = createEmailCodeRepository(db());
    const subjectKey = deps.emails.lookupKey(normalizeEmail(newAddress()));
    const id = randomUUID();
    await codes.issue({ id, subjectKey, challengeHash: deps.hasher.hash('challenge', codeSecret(id, newCode())), ttlSeconds: 600 }, { sends: 5, windowSeconds: 60 });
    const attempts = await Promise.all(Array.from({ length: 20 }, () => codes.countAttempt(subjectKey)));
    expect(attempts.filter((attempt) => attempt !== null)).toHaveLength(MAX_ATTEMPTS);
    const row = await db().selectFrom('verifications').select('attempts').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.attempts).toBe(MAX_ATTEMPTS);
  });
});

describe('codes and messages', () => {
  it('draws six digits, leading zeros kept, spread over the whole range', () => {
    const drawn = Array.from({ length: 2000 }, newCode);
    for (const code of drawn) expect(code).toMatch(/^\d{6}$/);
    expect(new Set(drawn).size).toBeGreaterThan(1990);
    expect(drawn.some((code) => code.startsWith('0'))).toBe(true);
  });

  it('says the code, its lifetime and that nobody will ask for it; the subject does not carry it', () => {
    const mail = codeMail('012345', 'https://id.example.org');
    expect(mail.subject).toBe('Your sign-in code for id.example.org');
    expect(mail.subject).not.toContain('012345');
    expect(mail.text).toContain('    012345\n');
    expect(mail.text).toContain('valid for 10 minutes');
    expect(mail.text).toContain('Nobody from id.example.org will ever ask you for this code');
  });
});

describe('delivery', () => {
  const withEnv = (env: Record<string, string>): Config => loadConfig(testEnvironment({ DATA_DIR: dataDir, ...env }));

  it('is SMTP when SMTP_URL is set, the mail drop outside production without it, and nothing in production without it', () => {
    expect(openMailer(withEnv({ SMTP_URL: sink.url }))).toBeInstanceOf(SmtpMailer);
    expect(openMailer(withEnv({ SMTP_URL: sink.url, NODE_ENV: 'production' }))).toBeInstanceOf(SmtpMailer);
    expect(openMailer(withEnv({ NODE_ENV: 'development' }))).toBeInstanceOf(MailDrop);
    expect(openMailer(withEnv({ NODE_ENV: 'production' }))).toBeNull();
    const production = depsFor({ NODE_ENV: 'production' });
    expect(createEmailStrategy({ ...production, config: withEnv({ NODE_ENV: 'production' }) })).toBeNull();
  });

  it('drops .eml files (owner-only) that the inbox reads back newest first, decoding what MIME encoded', async () => {
    const dir = mailDropDir(await mkdtemp(join(dataDir, 'drop-')));
    const drop = new MailDrop(dir, 'personae <no-reply@localhost>');
    expect(await readMailDrop(dir, 50)).toEqual([]);
    await drop.send({ to: 'first@example.org', subject: 'First', text: 'one\n' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const long = `${'word '.repeat(40)}end\n`;
    await drop.send({ to: 'zoë@example.org', subject: 'Grüße — code', text: `Café ☕ 123456\n${long}` });
    const files = await readdir(dir);
    expect(files).toHaveLength(2);
    expect(files.every((name) => name.endsWith('.eml'))).toBe(true);
    expect((await stat(join(dir, files[0]!))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);

    const inbox = await readMailDrop(dir, 50);
    expect(inbox.map((message) => message.subject)).toEqual(['Grüße — code', 'First']);
    expect(inbox[0]?.to).toContain('example.org');
    expect(inbox[0]?.text).toBe(`Café ☕ 123456\n${long}`);
    expect(inbox[1]).toMatchObject({ to: 'first@example.org', text: 'one\n' });
    expect(Date.parse(inbox[0]!.sentAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await readMailDrop(dir, 1)).toHaveLength(1);
  });

  it('the strategy delivers to the mail drop in development', async () => {
    const dir = await mkdtemp(join(dataDir, 'dev-'));
    const deps = depsFor();
    const config = loadConfig(testEnvironment({ NODE_ENV: 'development', DATA_DIR: dir }));
    const strategy = createEmailStrategy({ ...deps, config });
    const email = newAddress();
    await strategy!.challenge({ email }, context());
    const [message] = await readMailDrop(mailDropDir(dir), 50);
    expect(message?.to).toBe(email);
    const code = /^\s+(\d{6})$/m.exec(message!.text)?.[1];
    expect(await strategy!.verify({ email, code }, context())).toMatchObject({ identifier: email });
  });
});

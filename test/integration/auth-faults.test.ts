import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailBox, normalizeEmail } from '../../src/crypto/email-box.js';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { postgresUrl } from '../support/database.js';
import { Browser, newPerson } from '../support/browser.js';

/**
 * Crashes in the middle of an authentication leave nothing behind (DESIGN.md §2.7): the database
 * (a trigger in this test's own database) or the connection fails at the very last write.
 */
let test: TestApp;
beforeAll(async () => {
  test = await startTestApp({ env: { LOGIN_ATTEMPTS_PER_CLIENT: '10000' } });
});
afterAll(() => test.close());

const db = () => test.database.db;
const TABLES = ['accountability_profiles', 'accounts', 'territory_main.account_emails', 'territory_main.password_credentials', 'personas', 'persona_access', 'sessions', 'outbox', 'account_links', 'identity_links'] as const;

async function counts(): Promise<Record<string, number>> {
  const entries = await Promise.all(
    TABLES.map(async (table) => [table, Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db())).rows[0]?.n)] as const),
  );
  return Object.fromEntries(entries);
}

const lookupKeyOf = (email: string) =>
  new EmailBox(test.config.secrets.emailKeys, new TokenHasher(test.config.secrets.tokenHashKey)).lookupKey(normalizeEmail(email));

/** Makes inserts into `table` fail (or stall, with `body`) until the returned function is called. */
async function sabotage(table: string, body = `raise exception 'sabotaged'`): Promise<() => Promise<void>> {
  await sql.raw(`create function sabotage() returns trigger language plpgsql as $$ begin ${body}; return new; end; $$`).execute(db());
  await sql.raw(`create trigger sabotage before insert on ${table} for each row execute function sabotage()`).execute(db());
  return async () => {
    await sql.raw(`drop trigger sabotage on ${table}`).execute(db());
    await sql.raw('drop function sabotage()').execute(db());
  };
}

function expectInternalError(response: Awaited<ReturnType<Browser['request']>>) {
  expect(response.statusCode).toBe(500);
  expect(response.json().code).toBe('INTERNAL_ERROR');
}

describe('a registration failing at its last write', () => {
  it('commits nothing: no account, profile, persona, credential, email or event', async () => {
    const browser = new Browser(test.app);
    await browser.request('POST', '/session'); // a guest, so the rotation and the link are in the transaction too
    const before = await counts();
    const person = newPerson('fault');
    const restore = await sabotage('sessions');
    try {
      expectInternalError(await browser.register(person));
    } finally {
      await restore();
    }
    expect(await counts()).toEqual(before);
    expect(await db().selectFrom('accounts').select('id').where('lookup_key', '=', lookupKeyOf(person.email)).execute()).toEqual([]);
    expect(browser.sessionCookie).toBeUndefined();
    // The guest is untouched (its token did not rotate), and the address is free to register.
    expect((await browser.session()).anonymous).toBe(true);
    expect((await browser.register(person)).statusCode).toBe(201);
  });

  it('a failed anonymous-token rotation keeps the identity data under the old token, readable', async () => {
    const browser = new Browser(test.app);
    await browser.request('POST', '/session');
    const data = { identityData: { name: 'Grace Hopper' }, consent: true };
    expect((await browser.request('POST', '/identity-link', data)).statusCode).toBe(201);
    const person = newPerson('rekey');
    expect((await new Browser(test.app).register(person)).statusCode).toBe(201);
    const before = await counts();
    const anon = browser.anonCookie;
    const restore = await sabotage('identity_links'); // the re-sealed row is inserted after the old one is taken
    try {
      expectInternalError(await browser.login(person));
    } finally {
      await restore();
    }
    expect(await counts()).toEqual(before);
    expect(browser.anonCookie).toBe(anon);
    expect((await browser.request('GET', '/identity-link')).json().identityData).toEqual(data.identityData);
  });
});

describe.runIf(postgresUrl !== undefined)('the connection cut in the middle of a registration (PostgreSQL)', () => {
  it('leaves no partial state when the backend is terminated inside the transaction', async () => {
    const url = test.database.url as string;
    const before = await counts();
    const person = newPerson('cut');
    // The last insert of the transaction stalls, so the backend can be found and killed mid-transaction.
    const restore = await sabotage('sessions', 'perform pg_sleep(30)');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const registering = new Browser(test.app).register(person);
      let terminated = false;
      for (let i = 0; i < 200 && !terminated; i++) {
        const result = await admin.query<{ terminated: boolean }>(
          `select pg_terminate_backend(pid) as terminated from pg_stat_activity
           where datname = current_database() and wait_event = 'PgSleep' and pid <> pg_backend_pid()`,
        );
        terminated = result.rows.some((row) => row.terminated);
        if (!terminated) await sleep(25);
      }
      expect(terminated).toBe(true);
      // A lost connection is the service's trouble, not the request's: 503, try again.
      const answer = await registering;
      expect(answer.statusCode).toBe(503);
      expect(answer.json().code).toBe('SERVICE_UNAVAILABLE');
      expect(answer.headers['retry-after']).toBe('1');
    } finally {
      await admin.end();
      await restore();
    }
    expect(await counts()).toEqual(before);
    expect(await db().selectFrom('accounts').select('id').where('lookup_key', '=', lookupKeyOf(person.email)).execute()).toEqual([]);
    // The service carries on with its other connections, and the address is still free.
    expect((await new Browser(test.app).register(person)).statusCode).toBe(201);
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import { verifyRegistrationResponse, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import { Migrator, sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { openDatabase } from '../../src/db/database.js';
import { MIGRATIONS, migrateToLatest } from '../../src/db/migrate.js';
import * as residents from '../../src/db/territory-migrations/t0001-residents.js';
import * as signInSecrets from '../../src/db/territory-migrations/t0002-sign-in-secrets.js';
import * as keyCredentials from '../../src/db/territory-migrations/t0003-key-credentials.js';
import * as walletKeys from '../../src/db/territory-migrations/t0004-persona-wallet-keys.js';
import { startTestApp, testEnvironment, type TestApp } from '../support/app.js';
import { Browser, sameSecrets } from '../support/browser.js';
import { createEmptyPostgresDatabase, postgresUrl, type TestDatabase } from '../support/database.js';
import { SoftwareAuthenticator, type SoftwareCredential } from '../support/software-authenticator.js';

/**
 * An installation of the release before 0011 (passkey credentials and session device labels in the
 * global schema, territories at t0004) upgrades in place: its rows are written the way that release
 * wrote them, then the current migrations run, and every row must arrive intact in its person's
 * territory — and the people must still sign in with their passkeys.
 */

const config = loadConfig(testEnvironment());
const hasher = new TokenHasher(config.secrets.tokenHashKey);
const PREVIOUS_RELEASE = '0010-territory-wallet-keys';
const OLD_TERRITORY_MIGRATIONS = { 't0001-residents': residents, 't0002-sign-in-secrets': signInSecrets, 't0003-key-credentials': keyCredentials, 't0004-persona-wallet-keys': walletKeys };

async function openEmptyDatabase(): Promise<TestDatabase> {
  if (!postgresUrl) {
    const handle = openDatabase({ dataDir: 'memory' });
    return { ...handle, url: undefined, drop: handle.close };
  }
  const empty = await createEmptyPostgresDatabase();
  const handle = openDatabase({ url: empty.url, poolSize: 4 });
  return { ...handle, url: empty.url, drop: async () => { await handle.close(); await empty.drop(); } };
}

/** The global schema and every local territory's schema as the previous release left them. */
async function previousRelease(db: Kysely<any>, territories: readonly string[]): Promise<void> {
  const global = await new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } }).migrateTo(PREVIOUS_RELEASE);
  if (global.error) throw global.error;
  for (const code of territories) {
    if (code !== 'main') await db.insertInto('territories').values({ code, name: code }).execute();
    const schema = `territory_${code}`;
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    const migrations = Object.fromEntries(Object.entries(OLD_TERRITORY_MIGRATIONS).map(([name, migration]) => [name, { up: (target: Kysely<any>) => migration.up(target, schema) }]));
    const result = await new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableSchema: schema }).migrateToLatest();
    if (result.error) throw result.error;
  }
}

interface OldPasskeyPerson {
  readonly accountId: string;
  readonly territory: string;
  readonly authenticator: SoftwareAuthenticator;
  readonly credential: SoftwareCredential;
  /** The global row as the previous release stored it. */
  readonly row: { credential_id: string; public_key: Buffer; counter: number; transports: string[]; counter_regressed_at: Date | null; created_at: Date; last_used_at: Date };
  readonly labelled: { sessionId: string; label: string };
  readonly unlabelled: string;
}

/**
 * A person who signed up with a passkey under the previous release: the COSE key is what
 * @simplewebauthn/server read from a real registration, as that release stored it; two live
 * sessions, one with a device label and one without.
 */
async function oldPasskeyPerson(db: Kysely<any>, territory: string): Promise<OldPasskeyPerson> {
  const authenticator = new SoftwareAuthenticator(config.publicOrigin);
  const { rpId } = config.signIn.webauthn;
  const challenge = randomBytes(32).toString('base64url');
  const options = { challenge, rp: { id: rpId, name: 'old release' }, user: { id: randomBytes(32).toString('base64url'), name: 'personae user', displayName: '' } };
  const { response, credential } = authenticator.register(options as PublicKeyCredentialCreationOptionsJSON);
  const verified = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: config.publicOrigin, expectedRPID: rpId });
  if (!verified.verified) throw new Error('registration did not verify');
  // It signed in seven times since.
  credential.signCount = 7;
  const profile = await db.insertInto('accountability_profiles').defaultValues().returning('id').executeTakeFirstOrThrow();
  const accountId = randomUUID();
  await db
    .insertInto('accounts')
    .values({ id: accountId, type: 'passkey', lookup_key: hasher.hash('account', `passkey:${credential.id}`), accountability_profile_id: profile.id, verified: true })
    .execute();
  const row = {
    credential_id: credential.id,
    public_key: Buffer.from(verified.registrationInfo.credential.publicKey),
    counter: 7,
    transports: ['internal', 'hybrid'],
    counter_regressed_at: null,
    created_at: new Date('2026-03-04T05:06:07Z'),
    last_used_at: new Date('2026-04-05T06:07:08Z'),
  };
  await db.insertInto('passkey_credentials').values({ ...row, account_id: accountId }).execute();
  if (territory !== 'main') {
    await db.insertInto('citizenships').values({ accountability_profile_id: profile.id, territory_code: territory, territory_user_id: randomUUID(), is_primary: true }).execute();
  }
  const session = (label: string | null) =>
    db
      .insertInto('sessions')
      .values({
        token_hash: randomBytes(32),
        account_id: accountId,
        expires_at: sql`now() + interval '1 day'`,
        idle_timeout_seconds: 86_400,
        step_up_capable: true,
        device_label: label,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
  const label = `Firefox on Linux ${territory}`;
  const labelled = await session(label);
  const unlabelled = await session(null);
  return { accountId, territory, authenticator, credential, row, labelled: { sessionId: labelled.id, label }, unlabelled: unlabelled.id };
}

let database: TestDatabase;
let test: TestApp | undefined;
let people: OldPasskeyPerson[] = [];

beforeAll(async () => {
  database = await openEmptyDatabase();
  const db = database.db as Kysely<any>;
  await previousRelease(db, ['main', 'eu']);
  people = [await oldPasskeyPerson(db, 'main'), await oldPasskeyPerson(db, 'eu')];
  await migrateToLatest(database.db);
  test = await startTestApp({ database, env: sameSecrets(config) });
}, 60_000);

afterAll(async () => {
  await test?.close();
  await database?.drop();
});

const inTerritory = (code: string) => database.db.withSchema(`territory_${code}`) as unknown as Kysely<any>;

describe('upgrading an installation to 0011', () => {
  it('leaves no passkey credential and no device label in the global schema', async () => {
    const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_name = 'passkey_credentials'`.execute(database.db);
    expect(tables.rows).toEqual([]);
    const columns = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_schema = 'public' and table_name = 'sessions' and column_name = 'device_label'`.execute(database.db);
    expect(columns.rows).toEqual([]);
  });

  it("moves every credential, byte for byte, into its person's territory and nowhere else", async () => {
    for (const person of people) {
      for (const code of ['main', 'eu']) {
        const rows = await inTerritory(code).selectFrom('passkey_credentials').selectAll().where('account_id', '=', person.accountId).execute();
        const expected = code === person.territory ? [{ ...person.row, account_id: person.accountId }] : [];
        expect(rows.map((row) => ({ ...row, public_key: Buffer.from(row.public_key), counter: Number(row.counter) }))).toEqual(expected);
      }
    }
  });

  it("moves each session's label into its person's territory, by session id; a session without one gets no row", async () => {
    for (const person of people) {
      for (const code of ['main', 'eu']) {
        const rows = await inTerritory(code).selectFrom('session_labels').select(['session_id', 'account_id', 'label']).where('account_id', '=', person.accountId).execute();
        expect(rows).toEqual(code === person.territory ? [{ session_id: person.labelled.sessionId, account_id: person.accountId, label: person.labelled.label }] : []);
      }
    }
  });

  it('records the new territory migration in each territory, so a restart migrates nothing twice', async () => {
    for (const code of ['main', 'eu']) {
      const applied = await sql<{ name: string }>`select name from ${sql.table(`territory_${code}.kysely_migration`)} order by name`.execute(database.db);
      expect(applied.rows.map((row) => row.name)).toContain('t0005-passkeys-session-labels');
    }
    await migrateToLatest(database.db);
  });

  it('signs the upgraded people in with their passkeys, wherever they live, counting on from the old counter; lists the old label', async () => {
    for (const person of people) {
      const browser = new Browser(test!.app);
      const sign = async (signCount?: number) => {
        const asked = await browser.request('POST', '/api/v2/auth/challenge', { strategy: 'passkey', mode: 'authenticate' });
        const response = person.authenticator.authenticate(asked.json().options, { credential: person.credential, ...(signCount === undefined ? {} : { signCount }) });
        return browser.request('POST', '/api/v2/auth/authenticate', { strategy: 'passkey', response });
      };
      // A copy still at the old count is a clone: the counter came along.
      expect((await sign(7)).statusCode).toBe(401);
      const signedIn = await sign(8);
      expect(signedIn.statusCode, signedIn.body).toBe(200);
      expect(signedIn.json().isNewUser).toBe(false);
      const listed = (await browser.request('GET', '/api/v2/auth/sessions')).json().sessions as Array<{ deviceLabel: string | null }>;
      expect(listed.map((session) => session.deviceLabel)).toContain(person.labelled.label);
    }
  });
});

describe('upgrading to 0011 with a passkey in a territory on another server', () => {
  it('refuses, naming the table and the territory, and rolls everything back', async () => {
    const other = await openEmptyDatabase();
    try {
      const db = other.db as Kysely<any>;
      await previousRelease(db, ['main']);
      await db.insertInto('territories').values({ code: 'far', name: 'Far away', remote: true }).execute();
      const person = await oldPasskeyPerson(db, 'far');
      await expect(migrateToLatest(other.db)).rejects.toThrow(/0011: 1 rows of passkey_credentials belong to remote territory far/);
      const kept = await sql<{ n: number }>`select count(*)::int as n from passkey_credentials where account_id = ${person.accountId}`.execute(other.db);
      expect(kept.rows[0]!.n).toBe(1);
      const label = await sql<{ device_label: string | null }>`select device_label from sessions where id = ${person.labelled.sessionId}`.execute(other.db);
      expect(label.rows).toEqual([{ device_label: person.labelled.label }]);
      const applied = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(other.db);
      expect(applied.rows[0]!.name).toBe(PREVIOUS_RELEASE);
    } finally {
      await other.drop();
    }
    // A second installation migrated from nothing: as long as the first one's beforeAll on a busy machine.
  }, 60_000);
});

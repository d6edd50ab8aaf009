import { randomBytes, randomUUID } from 'node:crypto';
import { Migrator, sql, type Kysely, type RawBuilder } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DataBox } from '../../src/crypto/data-box.js';
import { EmailBox, normalizeEmail } from '../../src/crypto/email-box.js';
import { Argon2PasswordHasher } from '../../src/crypto/passwords.js';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { ACCOUNT_IDENTIFIER_BOX } from '../../src/auth/account-identifier.js';
import { openDatabase } from '../../src/db/database.js';
import { MIGRATIONS, migrateToLatest } from '../../src/db/migrate.js';
import * as residents from '../../src/db/territory-migrations/t0001-residents.js';
import { didKeyOf } from '../../src/auth/key/did-key.js';
import { keyHashOf } from '../../src/modules/handles/handle.js';
import { startTestApp, testEnvironment, type TestApp } from '../support/app.js';
import { newKeyPair, rawPublicKey, signKeyChallenge, type TestKeyPair } from '../support/key-signer.js';
import { Browser, GOOD_PASSWORD, sameSecrets } from '../support/browser.js';
import { createEmptyPostgresDatabase, postgresUrl, type TestDatabase } from '../support/database.js';
import { open } from '../../src/crypto/sealed-box.js';
import { deriveTokenKeys } from '../../src/crypto/token-derived-keys.js';
import { IDENTITY_LINK_PURPOSE } from '../../src/modules/identification/identification.js';
import { oldAppeal, oldIdentification, oldVerifications, type OldAppeal, type OldIdentification } from '../support/old-appeals-identification.js';

/**
 * An installation of the release before 0008 (sign-in secrets in the global schema) upgrades in
 * place: its rows are written the way that release wrote them, then the current migrations run, and
 * every row must arrive intact in its person's territory — and the people must still sign in.
 */

const env = testEnvironment();
const config = loadConfig(env);
const hasher = new TokenHasher(config.secrets.tokenHashKey);
const emails = new EmailBox(config.secrets.emailKeys, hasher);
const identifiers = new DataBox(config.secrets.emailKeys, ACCOUNT_IDENTIFIER_BOX);
const passwords = new Argon2PasswordHasher(config.passwordHashing);

let database: TestDatabase;
let test: TestApp | undefined;

async function openEmptyDatabase(): Promise<TestDatabase> {
  if (!postgresUrl) {
    const handle = openDatabase({ dataDir: 'memory' });
    return { ...handle, url: undefined, drop: handle.close };
  }
  const empty = await createEmptyPostgresDatabase();
  const handle = openDatabase({ url: empty.url, poolSize: 4 });
  return { ...handle, url: empty.url, drop: async () => { await handle.close(); await empty.drop(); } };
}

/** A territory schema as the previous release left it: its first migration only, recorded by Kysely. */
async function oldTerritory(db: Kysely<any>, code: string): Promise<void> {
  const schema = `territory_${code}`;
  await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ 't0001-residents': { up: (target: Kysely<any>) => residents.up(target, schema) } }) },
    migrationTableSchema: schema,
  });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
}

interface OldPerson {
  readonly accountId: string;
  readonly profileId: string;
  readonly email: string | null;
  readonly territory: string;
  readonly sealed: { keyId: string; sealed: Buffer };
  readonly passwordHash: string | null;
  readonly table: 'account_emails' | 'account_identifiers';
}

/** Writes one person as the previous release did: profile, account, sealed identifier, password. */
async function oldPerson(db: Kysely<any>, kind: 'email' | 'wallet', territory: string): Promise<OldPerson> {
  const accountId = randomUUID();
  const profile = await db.insertInto('accountability_profiles').defaultValues().returning('id').executeTakeFirstOrThrow();
  const email = kind === 'email' ? `old-${randomBytes(4).toString('hex')}@example.org` : null;
  const lookupKey = email ? emails.lookupKey(normalizeEmail(email)) : hasher.hash('account', `wallet:0x${randomBytes(20).toString('hex')}`);
  await db.insertInto('accounts').values({ id: accountId, type: kind, lookup_key: lookupKey, accountability_profile_id: profile.id, verified: kind === 'wallet' }).execute();
  const sealed = email ? emails.seal(accountId, normalizeEmail(email)) : identifiers.seal(['account-identifier', accountId], Buffer.from(`0x${randomBytes(20).toString('hex')}`, 'utf8'));
  const table = email ? 'account_emails' : 'account_identifiers';
  await db.insertInto(table).values({ account_id: accountId, key_id: sealed.keyId, sealed: sealed.sealed }).execute();
  const passwordHash = email ? await passwords.hash(GOOD_PASSWORD) : null;
  if (passwordHash) await db.insertInto('password_credentials').values({ account_id: accountId, hash: passwordHash, updated_at: new Date('2026-01-02T03:04:05Z') }).execute();
  if (territory !== 'main') {
    await db.insertInto('citizenships').values({ accountability_profile_id: profile.id, territory_code: territory, territory_user_id: randomUUID(), is_primary: true }).execute();
  }
  return { accountId, profileId: profile.id, email, territory, sealed, passwordHash, table };
}

let people: OldPerson[] = [];

interface OldKeyPerson {
  readonly accountId: string;
  readonly pair: TestKeyPair;
  readonly territory: string;
  readonly handle: string;
  readonly createdAt: Date;
  readonly personaId: string;
  readonly profileId: string;
  readonly walletKey: { keyId: string; sealed: Buffer };
}

/** A person who signed in with an ed25519 key under the release before 0009, with a handle carrying its hash. */
async function oldKeyPerson(db: Kysely<any>, territory: string): Promise<OldKeyPerson> {
  const accountId = randomUUID();
  const pair = newKeyPair();
  const raw = rawPublicKey(pair);
  const profile = await db.insertInto('accountability_profiles').defaultValues().returning('id').executeTakeFirstOrThrow();
  await db.insertInto('accounts').values({ id: accountId, type: 'key', lookup_key: hasher.hash('account', `key:${didKeyOf(raw)}`), accountability_profile_id: profile.id, verified: true }).execute();
  const createdAt = new Date('2026-02-03T04:05:06Z');
  await db.insertInto('key_credentials').values({ account_id: accountId, public_key: raw, created_at: createdAt }).execute();
  const tag = randomBytes(4).toString('hex');
  const persona = randomUUID();
  await db.insertInto('personas').values({ id: persona, accountability_profile_id: profile.id, display_name: `Key ${tag}`, display_name_key: `key ${tag}`, author_id: `k.${tag}`, owner_account_id: accountId }).execute();
  const handle = `key${tag}`;
  await db.insertInto('user_identities').values({ id: randomUUID(), handle, skeleton: handle, public_key_hash: randomBytes(32).toString('hex'), key_hash: keyHashOf(raw), persona_id: persona }).execute();
  if (territory !== 'main') {
    await db.insertInto('citizenships').values({ accountability_profile_id: profile.id, territory_code: territory, territory_user_id: randomUUID(), is_primary: true }).execute();
  }
  // Its persona's session wallet, the private key sealed in the global row as that release kept it.
  const walletKey = { keyId: 'k1', sealed: randomBytes(60) };
  await db.insertInto('persona_wallets').values({ persona_id: persona, address: `0x${randomBytes(20).toString('hex')}`, key_id: walletKey.keyId, private_sealed: walletKey.sealed }).execute();
  return { accountId, pair, territory, handle, createdAt, personaId: persona, profileId: profile.id, walletKey };
}

let keyPeople: OldKeyPerson[] = [];
let appeals: OldAppeal[] = [];
let links: OldIdentification[] = [];
let keyChallenge = '';

beforeAll(async () => {
  database = await openEmptyDatabase();
  const db = database.db as Kysely<any>;
  const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
  const before = await migrator.migrateTo('0007-identity-lookup');
  if (before.error) throw before.error;
  await db.insertInto('territories').values({ code: 'eu', name: 'Europe' }).execute();
  keyPeople = [await oldKeyPerson(db, 'main'), await oldKeyPerson(db, 'eu')];
  await oldTerritory(db, 'main');
  await oldTerritory(db, 'eu');
  people = [await oldPerson(db, 'email', 'main'), await oldPerson(db, 'email', 'eu'), await oldPerson(db, 'wallet', 'main'), await oldPerson(db, 'email', 'main')];
  // What 0012 moves: appeal statements, sealed identification, personal bits of verification records.
  appeals = [await oldAppeal(db, 'main'), await oldAppeal(db, 'eu'), await oldAppeal(db, 'main')];
  links = [await oldIdentification(db), await oldIdentification(db)];
  keyChallenge = await oldVerifications(db);
  await migrateToLatest(database.db);
  test = await startTestApp({ database, env: sameSecrets(config) });
}, 60_000);

afterAll(async () => {
  await test?.close();
  await database?.drop();
});

describe('upgrading an installation to 0008', () => {
  it('leaves no sign-in secret table in the global schema', async () => {
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables
      where table_schema = 'public' and table_name in ('account_emails', 'account_identifiers', 'password_credentials')`.execute(database.db);
    expect(tables.rows).toEqual([]);
  });

  it("moves every row, byte for byte, into its person's territory and nowhere else", async () => {
    for (const person of people) {
      for (const code of ['main', 'eu']) {
        const here = code === person.territory;
        const sealed = await sql<{ key_id: string; sealed: Uint8Array }>`
          select key_id, sealed from ${sql.table(`territory_${code}.${person.table}`)} where account_id = ${person.accountId}`.execute(database.db);
        expect(sealed.rows.map((row) => ({ keyId: row.key_id, sealed: Buffer.from(row.sealed) }))).toEqual(here ? [person.sealed] : []);
        const password = await sql<{ hash: string; updated_at: Date }>`
          select hash, updated_at from ${sql.table(`territory_${code}.password_credentials`)} where account_id = ${person.accountId}`.execute(database.db);
        expect(password.rows).toEqual(here && person.passwordHash ? [{ hash: person.passwordHash, updated_at: new Date('2026-01-02T03:04:05Z') }] : []);
      }
    }
    if (people[0]!.email) expect(emails.open(people[0]!.accountId, people[0]!.sealed)).toBe(people[0]!.email);
    const counted = await sql<{ n: number }>`
      select (select count(*) from territory_main.account_emails)::int + (select count(*) from territory_eu.account_emails)::int
        + (select count(*) from territory_main.account_identifiers)::int + (select count(*) from territory_eu.account_identifiers)::int
        + (select count(*) from territory_main.password_credentials)::int + (select count(*) from territory_eu.password_credentials)::int as n`.execute(database.db);
    expect(counted.rows[0]!.n).toBe(people.length + people.filter((person) => person.passwordHash).length);
  });

  it('records the new territory migration in each territory, so a restart migrates nothing twice', async () => {
    for (const code of ['main', 'eu']) {
      const applied = await sql<{ name: string }>`select name from ${sql.table(`territory_${code}.kysely_migration`)} order by name`.execute(database.db);
      expect(applied.rows.map((row) => row.name)).toEqual([
        't0001-residents', 't0002-sign-in-secrets', 't0003-key-credentials', 't0004-persona-wallet-keys', 't0005-passkeys-session-labels', 't0006-appeals-identification',
        't0007-written-at',
      ]);
    }
    await migrateToLatest(database.db);
  });

  it('signs the upgraded people in with their old passwords, wherever they live', async () => {
    for (const person of people.filter((one) => one.email)) {
      const response = await new Browser(test!.app).login({ email: person.email!, password: GOOD_PASSWORD });
      expect(response.statusCode).toBe(200);
    }
    expect((await new Browser(test!.app).login({ email: people[0]!.email!, password: 'not the password at all' })).statusCode).toBe(401);
  });
});

describe('upgrading an installation to 0009', () => {
  it('leaves no key_credentials in the global schema', async () => {
    const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_name = 'key_credentials'`.execute(database.db);
    expect(tables.rows).toEqual([]);
  });

  it("moves every key, byte for byte, into its person's territory and nowhere else; the handle keeps the raw key its hash names", async () => {
    for (const person of keyPeople) {
      for (const code of ['main', 'eu']) {
        const rows = await sql<{ public_key: Uint8Array; created_at: Date }>`
          select public_key, created_at from ${sql.table(`territory_${code}.key_credentials`)} where account_id = ${person.accountId}`.execute(database.db);
        const expected = code === person.territory ? [{ publicKey: rawPublicKey(person.pair), createdAt: person.createdAt }] : [];
        expect(rows.rows.map((row) => ({ publicKey: Buffer.from(row.public_key), createdAt: row.created_at }))).toEqual(expected);
      }
      const handle = await database.db.selectFrom('user_identities').select(['key_hash', 'key_public']).where('handle', '=', person.handle).executeTakeFirstOrThrow();
      expect(Buffer.from(handle.key_public!)).toEqual(rawPublicKey(person.pair));
    }
  });

  it('publishes the same did:key for the upgraded handles, and signs the key people in as themselves', async () => {
    for (const person of keyPeople) {
      const { identity } = (await test!.app.inject({ method: 'GET', url: `/identities/${person.handle}` })).json();
      expect(identity.did).toBe(didKeyOf(rawPublicKey(person.pair)));
      const asked = await test!.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'key', publicKey: person.pair.publicKey } });
      const signedIn = await test!.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload: { ...signKeyChallenge(asked.json(), person.pair), client: 'api' } });
      expect(signedIn.statusCode, signedIn.body).toBe(200);
      expect(signedIn.json().isNewUser).toBe(false);
    }
  });

  it('refuses a raw key on a handle that its hash does not name', async () => {
    const other = rawPublicKey(newKeyPair());
    await expect(database.db.updateTable('user_identities').set({ key_public: other }).where('handle', '=', keyPeople[0]!.handle).execute()).rejects.toThrow(/user_identities_key_public_matches/);
  });
});

describe('upgrading an installation to 0010', () => {
  it("moves each session wallet's sealed key into its person's territory, keeping the address global", async () => {
    const columns = await sql<{ column_name: string }>`
      select column_name from information_schema.columns where table_schema = 'public' and table_name = 'persona_wallets' order by column_name`.execute(database.db);
    expect(columns.rows.map((row) => row.column_name)).toEqual(['address', 'created_at', 'persona_id']);
    for (const person of keyPeople) {
      for (const code of ['main', 'eu']) {
        const rows = await sql<{ accountability_profile_id: string; key_id: string; private_sealed: Uint8Array }>`
          select accountability_profile_id, key_id, private_sealed from ${sql.table(`territory_${code}.persona_wallet_keys`)} where persona_id = ${person.personaId}`.execute(database.db);
        const expected = code === person.territory ? [{ profileId: person.profileId, keyId: person.walletKey.keyId, sealed: person.walletKey.sealed }] : [];
        expect(rows.rows.map((row) => ({ profileId: row.accountability_profile_id, keyId: row.key_id, sealed: Buffer.from(row.private_sealed) }))).toEqual(expected);
      }
      expect(await database.db.selectFrom('persona_wallets').select('persona_id').where('persona_id', '=', person.personaId).execute()).toHaveLength(1);
    }
  });
});

describe('upgrading an installation to 0012', () => {
  const admin = (url: string) => test!.app.inject({ method: 'GET', url, headers: test!.adminHeaders });

  it("moves every appeal statement into its person's territory and nowhere else, and drops the global column", async () => {
    const columns = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_schema = 'public' and table_name = 'appeals'`.execute(database.db);
    expect(columns.rows.map((row) => row.column_name)).not.toContain('statement');
    for (const appeal of appeals) {
      for (const code of ['main', 'eu']) {
        const rows = await sql<{ accountability_profile_id: string; statement: string; written_at: Date }>`
          select accountability_profile_id, statement, written_at from ${sql.table(`territory_${code}.appeal_statements`)} where appeal_id = ${appeal.id}`.execute(database.db);
        const expected = code === appeal.territory ? [{ accountability_profile_id: appeal.profileId, statement: appeal.statement, written_at: appeal.openedAt }] : [];
        expect(rows.rows).toEqual(expected);
      }
    }
    // Trust & safety reads them, each from its territory.
    const listed = (await admin('/admin/appeals?status=open')).json().appeals as Array<{ id: string; statement: string }>;
    for (const appeal of appeals) expect(listed.find((one) => one.id === appeal.id)?.statement).toBe(appeal.statement);
  });

  it('moves every sealed identification, byte for byte, into the default territory; the browser still reads it', async () => {
    const columns = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_schema = 'public' and table_name = 'identity_links' order by 1`.execute(database.db);
    expect(columns.rows.map((row) => row.column_name)).toEqual(['lookup_key', 'territory_code']);
    for (const link of links) {
      const pointer = await database.db.selectFrom('identity_links').select('territory_code').where('lookup_key', '=', link.lookupKey).executeTakeFirstOrThrow();
      expect(pointer.territory_code).toBe('main');
      const sealed = await sql<{ sealed: Uint8Array }>`select sealed from territory_main.sealed_identity_links where lookup_key = ${link.lookupKey}`.execute(database.db);
      const keys = deriveTokenKeys(link.token, IDENTITY_LINK_PURPOSE);
      expect(open(keys.sealKey, Buffer.from(sealed.rows[0]!.sealed), keys.lookupKey)?.toString()).toBe(link.data);
    }
    // Through the service, with the browser's own cookie (signed as the service signs it).
    const cookie = `anon_id=${test!.app.signCookie(`${links[0]!.token}.${Math.floor(Date.now() / 1000).toString(36)}`)}`;
    const read = await test!.app.inject({ method: 'GET', url: '/identity-link', headers: { cookie } });
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json().identityData).toEqual(JSON.parse(links[0]!.data).identityData);
  });

  it('leaves no public key or returnTo in a verification record; the pending key challenge is spent', async () => {
    const rows = await database.db.selectFrom('verifications').select(['strategy', 'state', 'consumed_at', 'challenge_hash']).execute();
    const key = rows.find((row) => Buffer.from(row.challenge_hash).toString('hex') === keyChallenge)!;
    expect(key.state).toEqual({});
    expect(key.consumed_at).not.toBeNull();
    expect(rows.filter((row) => row.strategy === 'social').map((row) => row.state)).toEqual([{ provider: 'idp', binding: 'ab' }]);
  });
});

describe('upgrading with people in a territory on another server', () => {
  /**
   * A database left at `from` by an older release, with one person's rows (`seed`) in a remote
   * territory: the upgrade must refuse with `refusal`, and its transaction roll back, leaving the rows
   * (`countKept`) and the last applied migration as they were.
   */
  async function expectRefusedAndRolledBack(options: {
    readonly from: string;
    readonly seed: (db: Kysely<any>) => Promise<string>;
    readonly refusal: RegExp;
    /** Counts the seeded rows still where the old release left them. */
    readonly kept: (id: string) => RawBuilder<{ n: number }>;
  }) {
    const other = await openEmptyDatabase();
    try {
      const db = other.db as Kysely<any>;
      const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
      const before = await migrator.migrateTo(options.from);
      if (before.error) throw before.error;
      await db.insertInto('territories').values({ code: 'far', name: 'Far away', remote: true }).execute();
      const id = await options.seed(db);
      await expect(migrateToLatest(other.db)).rejects.toThrow(options.refusal);
      expect((await options.kept(id).execute(db)).rows).toEqual([{ n: 1 }]);
      const applied = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(other.db);
      expect(applied.rows[0]!.name).toBe(options.from);
    } finally {
      await other.drop();
    }
  }

  it('refuses, naming the territory, and changes nothing', async () => {
    await expectRefusedAndRolledBack({
      from: '0007-identity-lookup',
      seed: async (db) => (await oldPerson(db, 'email', 'far')).accountId,
      refusal: /remote territory far/,
      kept: (accountId) => sql<{ n: number }>`select count(*)::int as n from account_emails where account_id = ${accountId}`,
    });
  });

  // A second in-process database costs ~25 s on the embedded run; the refusal is the shared
  // copyIntoTerritories path that the two cases around this one prove on both runs.
  it.skipIf(!postgresUrl)('refuses at 0012 for an appeal of a person in a remote territory, and rolls everything back', async () => {
    let statement = '';
    await expectRefusedAndRolledBack({
      from: '0010-territory-wallet-keys',
      seed: async (db) => {
        const appeal = await oldAppeal(db, 'far');
        statement = appeal.statement;
        return appeal.id;
      },
      refusal: /0012: 1 rows of appeal_statements belong to remote territory far/,
      kept: (id) => sql<{ n: number }>`select count(*)::int as n from appeals where id = ${id} and statement = ${statement}`,
    });
  });

  it('refuses at 0009 for a key held in a remote territory, naming it, and rolls everything back', async () => {
    await expectRefusedAndRolledBack({
      from: '0007-identity-lookup',
      seed: async (db) => (await oldKeyPerson(db, 'far')).accountId,
      refusal: /0009: 1 rows of key_credentials belong to remote territory far/,
      kept: (accountId) => sql<{ n: number }>`select count(*)::int as n from key_credentials where account_id = ${accountId}`,
    });
  });
});

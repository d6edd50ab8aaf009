import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { territoryDb } from '../../../test/support/territory-db.js';
import { TokenHasher } from '../../crypto/tokens.js';
import { openTerritoryDatabases } from '../../db/territory-databases.js';
import { migrateTerritory } from '../../db/territory-migrate.js';
import { methodLookupKey, type PrivacyMode } from '../../modules/accounts/account.js';
import { createPasskeyCredentialRepository, type PasskeyCredentialRepository, type PasskeyOwner } from './passkey-credential-repository.js';

const hasher = new TokenHasher('passkey-repository-test-key-of-enough-length');
let database: TestDatabase;
let passkeys: PasskeyCredentialRepository;
beforeAll(async () => {
  database = await openTestDatabase();
  passkeys = createPasskeyCredentialRepository(database.db, openTerritoryDatabases(database.db, {}), hasher);
  // A second territory in the same database, for a person who lives there.
  await database.db.insertInto('territories').values({ code: 'pk', name: 'Passkeys' }).execute();
  await migrateTerritory(database.db, 'pk');
}, 60_000);
afterAll(() => database?.drop());

const db = () => database.db;
const newId = () => randomBytes(16).toString('base64url');

async function person(territory?: string): Promise<string> {
  const { id } = await db().insertInto('accountability_profiles').defaultValues().returning('id').executeTakeFirstOrThrow();
  if (territory) {
    await db().insertInto('citizenships').values({ accountability_profile_id: id, territory_code: territory, territory_user_id: randomUUID(), is_primary: true }).execute();
  }
  return id;
}

/** An account of the person (a passkey one with a credential, unless `credential` is false), found by its keyed hash as sign-in makes it. */
async function account(profileId: string, privacyMode: PrivacyMode = 'linked', credential = true): Promise<PasskeyOwner & { credentialId: string }> {
  const credentialId = newId();
  const { id: accountId } = await db()
    .insertInto('accounts')
    .values({
      type: credential ? 'passkey' : 'email',
      lookup_key: credential ? methodLookupKey(hasher, 'passkey', credentialId) : randomBytes(32),
      accountability_profile_id: profileId,
      privacy_mode: privacyMode,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const owner = { accountId, profileId };
  if (credential) {
    await db()
      .transaction()
      .execute((trx) => passkeys.insert(trx, owner, { credentialId, publicKey: randomBytes(77), counter: 0, transports: ['usb'] }));
  }
  return { ...owner, credentialId };
}

async function counterOf(owner: PasskeyOwner, code = 'main') {
  const row = await territoryDb(db(), code).selectFrom('passkey_credentials').select(['counter', 'counter_regressed_at', 'last_used_at']).where('account_id', '=', owner.accountId).executeTakeFirstOrThrow();
  return { ...row, counter: Number(row.counter) };
}

async function regressionEvents(accountId: string) {
  const rows = await db().selectFrom('outbox').select('payload').where('type', '=', 'PasskeyCounterRegressed').execute();
  return rows.filter((row) => row.payload.accountId === accountId);
}

describe('passkey credentials', () => {
  it('finds a stored credential with its key and counter, and nothing for an unknown id', async () => {
    const { accountId, profileId, credentialId } = await account(await person());
    expect(await passkeys.find(credentialId)).toMatchObject({ accountId, profileId, counter: 0, publicKey: expect.any(Uint8Array) });
    expect(await passkeys.find(newId())).toBeNull();
  });

  it('keeps the credential in the territory and finds it only through the keyed hash of its id', async () => {
    const { accountId, credentialId } = await account(await person());
    const held = await territoryDb(db()).selectFrom('passkey_credentials').select(['credential_id', 'account_id']).where('account_id', '=', accountId).execute();
    expect(held).toEqual([{ credential_id: credentialId, account_id: accountId }]);
    // No global table holds it any more; the account names it by a hash under the server key only.
    const global = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name = 'passkey_credentials'`.execute(db());
    expect(global.rows[0]!.n).toBe(0);
    // Another key gives another hash: without the server's key the id does not lead to the account.
    const otherHasher = new TokenHasher('another-server-key-of-a-sufficient-length');
    const elsewhere = createPasskeyCredentialRepository(db(), openTerritoryDatabases(db(), {}), otherHasher);
    expect(await elsewhere.find(credentialId)).toBeNull();
  });

  it('refuses a second account with a taken credential id (the global lookup key is unique)', async () => {
    const { credentialId } = await account(await person());
    await expect(
      db()
        .insertInto('accounts')
        .values({ type: 'passkey', lookup_key: methodLookupKey(hasher, 'passkey', credentialId), accountability_profile_id: await person() })
        .execute(),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('lists the caller\'s own passkey and its person\'s, leaving out isolated accounts and other people', async () => {
    const profile = await person();
    const caller = await account(profile, 'linked', false); // signed in by email
    const linked = await account(profile, 'linked');
    const partial = await account(profile, 'partial');
    await account(profile, 'isolated');
    await account(await person(), 'linked'); // someone else
    const listed = await passkeys.listForAccount(caller.accountId);
    expect(listed.map((passkey) => passkey.id).sort()).toEqual([linked.credentialId, partial.credentialId].sort());
    expect(listed[0]?.transports).toEqual(['usb']);
  });

  it('lists only its own passkey to an isolated account', async () => {
    const profile = await person();
    const isolated = await account(profile, 'isolated');
    await account(profile, 'linked');
    expect(await passkeys.listForAccount(isolated.accountId)).toEqual([{ id: isolated.credentialId, transports: ['usb'] }]);
  });

  it('records a counter that grew; a counter back at 0 is a regression (WebAuthn L3 §7.2), both at 0 is not', async () => {
    const never = await account(await person());
    expect(await passkeys.recordAssertion(never, 0)).toBe('accepted');
    expect(await passkeys.recordAssertion(never, 0)).toBe('accepted');
    const counting = await account(await person());
    expect(await passkeys.recordAssertion(counting, 3)).toBe('accepted');
    expect(await counterOf(counting)).toMatchObject({ counter: 3, counter_regressed_at: null, last_used_at: expect.any(Date) });
    expect(await passkeys.recordAssertion(counting, 0)).toBe('regressed');
    expect(await counterOf(counting)).toMatchObject({ counter: 3, counter_regressed_at: expect.any(Date) });
  });

  it('flags a counter that did not grow, keeps the first detection time, and writes an event each time', async () => {
    const profile = await person();
    const owner = await account(profile);
    expect(await passkeys.recordAssertion(owner, 10)).toBe('accepted');
    expect(await passkeys.recordAssertion(owner, 10)).toBe('regressed');
    const first = (await counterOf(owner)).counter_regressed_at;
    expect(first).toBeInstanceOf(Date);
    expect(await passkeys.recordAssertion(owner, 2)).toBe('regressed');
    expect(await counterOf(owner)).toMatchObject({ counter: 10, counter_regressed_at: first });
    expect(await regressionEvents(owner.accountId)).toEqual([
      { payload: { accountId: owner.accountId, accountabilityProfileId: profile } },
      { payload: { accountId: owner.accountId, accountabilityProfileId: profile } },
    ]);
  });

  it('answers missing for a credential deleted meanwhile, with no event', async () => {
    const owner = await account(await person());
    await territoryDb(db()).deleteFrom('passkey_credentials').where('account_id', '=', owner.accountId).execute();
    expect(await passkeys.recordAssertion(owner, 4)).toBe('missing');
    expect(await regressionEvents(owner.accountId)).toEqual([]);
  });

  it("keeps, finds, lists and counts the passkey of a person of another territory in that territory's schema", async () => {
    const profile = await person('pk');
    const owner = await account(profile);
    expect(await territoryDb(db(), 'pk').selectFrom('passkey_credentials').select('credential_id').where('account_id', '=', owner.accountId).execute()).toEqual([
      { credential_id: owner.credentialId },
    ]);
    expect(await territoryDb(db()).selectFrom('passkey_credentials').select('account_id').where('account_id', '=', owner.accountId).execute()).toEqual([]);
    expect(await passkeys.find(owner.credentialId)).toMatchObject({ accountId: owner.accountId, counter: 0 });
    expect(await passkeys.listForAccount(owner.accountId)).toEqual([{ id: owner.credentialId, transports: ['usb'] }]);
    expect(await passkeys.recordAssertion(owner, 7)).toBe('accepted');
    expect((await counterOf(owner, 'pk')).counter).toBe(7);
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import type { PrivacyMode } from '../../modules/accounts/account.js';
import { createPasskeyCredentialRepository, type PasskeyCredentialRepository } from './passkey-credential-repository.js';

let database: TestDatabase;
let passkeys: PasskeyCredentialRepository;
beforeAll(async () => {
  database = await openTestDatabase();
  passkeys = createPasskeyCredentialRepository(database.db);
}, 60_000);
afterAll(() => database?.drop());

const db = () => database.db;
const newId = () => randomBytes(16).toString('base64url');

async function person(): Promise<string> {
  return (await db().insertInto('accountability_profiles').defaultValues().returning('id').executeTakeFirstOrThrow()).id;
}

/** An account of the person (a passkey one with a credential, unless `credential` is false). */
async function account(profileId: string, privacyMode: PrivacyMode = 'linked', credential = true): Promise<{ accountId: string; credentialId: string }> {
  const { id: accountId } = await db()
    .insertInto('accounts')
    .values({ type: credential ? 'passkey' : 'email', lookup_key: randomBytes(32), accountability_profile_id: profileId, privacy_mode: privacyMode })
    .returning('id')
    .executeTakeFirstOrThrow();
  const credentialId = newId();
  if (credential) {
    await db()
      .transaction()
      .execute((trx) => passkeys.insert(trx, accountId, { credentialId, publicKey: randomBytes(77), counter: 0, transports: ['usb'] }));
  }
  return { accountId, credentialId };
}

async function counterOf(credentialId: string) {
  const row = await db().selectFrom('passkey_credentials').select(['counter', 'counter_regressed_at', 'last_used_at']).where('credential_id', '=', credentialId).executeTakeFirstOrThrow();
  return { ...row, counter: Number(row.counter) };
}

async function regressionEvents(accountId: string) {
  const rows = await db().selectFrom('outbox').select('payload').where('type', '=', 'PasskeyCounterRegressed').execute();
  return rows.filter((row) => row.payload.accountId === accountId);
}

describe('passkey credentials', () => {
  it('finds a stored credential with its key and counter, and nothing for an unknown id', async () => {
    const { accountId, credentialId } = await account(await person());
    expect(await passkeys.find(credentialId)).toMatchObject({ accountId, counter: 0, publicKey: expect.any(Uint8Array) });
    expect(await passkeys.find(newId())).toBeNull();
  });

  it('refuses a second credential with a taken id (the primary key)', async () => {
    const { credentialId } = await account(await person());
    const other = await account(await person(), 'linked', false);
    await expect(
      db()
        .transaction()
        .execute((trx) => passkeys.insert(trx, other.accountId, { credentialId, publicKey: randomBytes(77), counter: 0, transports: [] })),
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
    expect(await passkeys.recordAssertion(never.credentialId, 0)).toBe('accepted');
    expect(await passkeys.recordAssertion(never.credentialId, 0)).toBe('accepted');
    const { credentialId } = await account(await person());
    expect(await passkeys.recordAssertion(credentialId, 3)).toBe('accepted');
    expect(await counterOf(credentialId)).toMatchObject({ counter: 3, counter_regressed_at: null, last_used_at: expect.any(Date) });
    expect(await passkeys.recordAssertion(credentialId, 0)).toBe('regressed');
    expect(await counterOf(credentialId)).toMatchObject({ counter: 3, counter_regressed_at: expect.any(Date) });
  });

  it('flags a counter that did not grow, keeps the first detection time, and writes an event each time', async () => {
    const profile = await person();
    const { accountId, credentialId } = await account(profile);
    expect(await passkeys.recordAssertion(credentialId, 10)).toBe('accepted');
    expect(await passkeys.recordAssertion(credentialId, 10)).toBe('regressed');
    const first = (await counterOf(credentialId)).counter_regressed_at;
    expect(first).toBeInstanceOf(Date);
    expect(await passkeys.recordAssertion(credentialId, 2)).toBe('regressed');
    expect(await counterOf(credentialId)).toMatchObject({ counter: 10, counter_regressed_at: first });
    expect(await regressionEvents(accountId)).toEqual([
      { payload: { accountId, accountabilityProfileId: profile } },
      { payload: { accountId, accountabilityProfileId: profile } },
    ]);
  });

  it('answers missing for a credential deleted meanwhile', async () => {
    expect(await passkeys.recordAssertion(newId(), 4)).toBe('missing');
  });
});

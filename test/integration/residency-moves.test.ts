import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { EmailBox, normalizeEmail } from '../../src/crypto/email-box.js';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { openTerritoryDatabases, type TerritoryDatabases } from '../../src/db/territory-databases.js';
import { createAccountSecretStore } from '../../src/modules/accounts/account-secret-repository.js';
import { createMoveRepository } from '../../src/modules/citizenships/move-repository.js';
import type { MoveStep } from '../../src/modules/citizenships/citizenship.js';
import { createMoveService } from '../../src/modules/citizenships/move-service.js';
import { createTerritoryRowsRepository } from '../../src/modules/citizenships/territory-rows-repository.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, newPerson } from '../support/browser.js';
import { postgresUrl } from '../support/database.js';
import { holdInserts, waitFor } from '../support/held-insert.js';
import { createTerritory, expectOk } from '../support/moves.js';
import { CHROME_MAC, registerPasskeyPerson, signInWithPasskey } from '../support/passkeys.js';
import { territoryDb } from '../support/territory-db.js';

/**
 * Sign-in secrets during a move: the saga copies them (copy → switch, which copies again under the
 * person's lock → retire), and the person may change or lose their password while it runs. A crash
 * after a step stands for a node that died there; the app then resumes the move.
 */
let test: TestApp;
let databases: TerritoryDatabases;
beforeAll(async () => {
  test = await startTestApp();
  await createTerritory(test, 'se');
  databases = openTerritoryDatabases(test.database.db, {});
});
afterAll(async () => {
  await databases.close();
  await test.close();
});

const crash = new Error('crash');
const NEW_PASSWORD = 'ochre gulls circle the granite quay';
let handles = 0;

/** The move service of a node that dies right after `step`. */
const crashingAfter = (at: MoveStep) =>
  createMoveService({
    moves: createMoveRepository(test.database.db),
    rows: createTerritoryRowsRepository(test.database.db, databases),
    cooldownDays: async () => 30,
    clock: systemClock,
    afterStep: (step) => {
      if (step === at) throw crash;
    },
  });

/** A person by email with a handle, and the move to `se` crashed right after its first copy. */
async function halfMoved(tag: string) {
  const person = newPerson(tag);
  const browser = new Browser(test.app);
  const registered = await browser.register(person);
  expect(registered.statusCode).toBe(201);
  handles++;
  expectOk(await browser.request('PUT', `/personas/${registered.json().personaId}/handle`, { handle: `${tag}_${Date.now().toString(36)}${handles}` }));
  const box = new EmailBox(test.config.secrets.emailKeys, new TokenHasher(test.config.secrets.tokenHashKey));
  const account = await test.database.db
    .selectFrom('accounts')
    .select(['id', 'accountability_profile_id as profileId'])
    .where('lookup_key', '=', box.lookupKey(normalizeEmail(person.email)))
    .executeTakeFirstOrThrow();
  await expect(crashingAfter('copied').move(account.profileId, { to: 'se', dualCitizenship: false }, 'crash')).rejects.toBe(crash);
  return { person, browser, accountId: account.id, profileId: account.profileId };
}

const hashesOf = async (accountId: string) => {
  const read = async (code: string) =>
    (await sql<{ hash: string }>`select hash from ${sql.table(`territory_${code}.password_credentials`)} where account_id = ${accountId}`.execute(test.database.db)).rows.map((row) => row.hash);
  return { main: await read('main'), se: await read('se') };
};

describe('sign-in secrets in a move', () => {
  it('keeps a password changed while the move ran, not the older copy', async () => {
    const { person, browser, accountId } = await halfMoved('newer');
    const copied = await hashesOf(accountId);
    expect(copied.se).toEqual(copied.main);
    // Not switched yet: the change lands in the old territory, as its current one.
    expectOk(await browser.request('PUT', '/api/v2/auth/password', { newPassword: NEW_PASSWORD }));
    const changed = await hashesOf(accountId);
    expect(changed.main[0]).not.toBe(copied.main[0]);
    expect(changed.se).toEqual(copied.se);

    expectOk(await browser.request('POST', '/api/v2/federation/moves/resume'));
    expect(await hashesOf(accountId)).toEqual({ main: [], se: changed.main });
    expect((await new Browser(test.app).login(person)).statusCode).toBe(401);
    expect((await new Browser(test.app).login({ email: person.email, password: NEW_PASSWORD })).statusCode).toBe(200);
  });

  it('removes a password from every copy, so the rest of the move cannot bring it back', async () => {
    const { person, browser, accountId, profileId } = await halfMoved('gone');
    expect((await hashesOf(accountId)).se).toHaveLength(1);
    const secrets = createAccountSecretStore(test.database.db, databases);
    await test.database.db.transaction().execute((trx) => secrets.deletePassword(trx, { accountId, profileId }));
    expect(await hashesOf(accountId)).toEqual({ main: [], se: [] });
    expectOk(await browser.request('POST', '/api/v2/federation/moves/resume'));
    expect(await hashesOf(accountId)).toEqual({ main: [], se: [] });
    expect((await new Browser(test.app).login(person)).statusCode).toBe(401);
  });

  it('erases an identity from both ends of a move in flight', async () => {
    const { browser, accountId } = await halfMoved('erase');
    expectOk(await browser.request('DELETE', '/api/v2/auth/identity'));
    expect(await hashesOf(accountId)).toEqual({ main: [], se: [] });
    const sealed = await sql<{ n: number }>`select count(*)::int as n from territory_se.account_emails where account_id = ${accountId}`.execute(test.database.db);
    expect(sealed.rows[0]!.n).toBe(0);
  });
});

describe('passkeys and session labels in a move', () => {
  const passkeyRows = async (accountId: string) => {
    const read = async (code: string) =>
      (await territoryDb(test.database.db, code).selectFrom('passkey_credentials').select(['counter', 'counter_regressed_at']).where('account_id', '=', accountId).execute()).map(
        (row) => ({ counter: Number(row.counter), flagged: row.counter_regressed_at !== null }),
      );
    return { main: await read('main'), se: await read('se') };
  };
  const labelsOf = async (accountId: string) => {
    const read = async (code: string) =>
      (await territoryDb(test.database.db, code).selectFrom('session_labels').select('label').where('account_id', '=', accountId).orderBy('label').execute()).map((row) => row.label);
    return { main: await read('main'), se: await read('se') };
  };

  it('carries the credential and every label, keeps a counter grown while the move ran, and signs the person in after', async () => {
    const person = await registerPasskeyPerson(test);
    handles++;
    expectOk(await person.browser.request('PUT', `/personas/${person.personaId}/handle`, { handle: `pk_${Date.now().toString(36)}${handles}` }));
    await expect(crashingAfter('copied').move(person.profileId, { to: 'se', dualCitizenship: false }, 'crash')).rejects.toBe(crash);
    expect(await passkeyRows(person.accountId)).toEqual({ main: [{ counter: 0, flagged: false }], se: [{ counter: 0, flagged: false }] });

    // Not switched yet: this sign-in counts in the old territory, and labels its session there.
    const during = await signInWithPasskey(test, person, CHROME_MAC);
    expect(during.response.statusCode, during.response.body).toBe(200);
    expect(await passkeyRows(person.accountId)).toEqual({ main: [{ counter: 1, flagged: false }], se: [{ counter: 0, flagged: false }] });
    expect(await labelsOf(person.accountId)).toEqual({ main: ['Chrome on macOS', 'Firefox on Linux'], se: ['Firefox on Linux'] });

    expectOk(await person.browser.request('POST', '/api/v2/federation/moves/resume'));
    // The second copy kept the greater counter, and brought the later label along.
    expect(await passkeyRows(person.accountId)).toEqual({ main: [], se: [{ counter: 1, flagged: false }] });
    expect(await labelsOf(person.accountId)).toEqual({ main: [], se: ['Chrome on macOS', 'Firefox on Linux'] });
    const listed = (await during.browser.request('GET', '/api/v2/auth/sessions')).json().sessions.map((session: { deviceLabel: string | null }) => session.deviceLabel);
    expect(listed.sort()).toEqual(['Chrome on macOS', 'Firefox on Linux']);

    // A copy still at the counter the move started with is a clone: refused and flagged in the new territory.
    const clone = await signInWithPasskey(test, person, CHROME_MAC, { signCount: 1 });
    expect(clone.response.statusCode).toBe(401);
    expect(await passkeyRows(person.accountId)).toEqual({ main: [], se: [{ counter: 1, flagged: true }] });
    const after = await signInWithPasskey(test, person, CHROME_MAC, { signCount: 2 });
    expect(after.response.statusCode, after.response.body).toBe(200);
    expect(after.response.json().isNewUser).toBe(false);
  });
});

describe('a write racing the switch', () => {
  /** A person by handle alone, so with recovery codes, in the default territory. */
  async function handlePerson(tag: string) {
    handles++;
    const { email: _email, ...person } = newPerson(tag);
    const handle = `${tag}_${Date.now().toString(36)}${handles}`;
    const browser = new Browser(test.app);
    const registered = await browser.request('POST', '/auth/register', { ...person, handle });
    expect(registered.statusCode, registered.body).toBe(201);
    const account = await test.database.db
      .selectFrom('accounts')
      .select(['id', 'accountability_profile_id as profileId'])
      .where('lookup_key', '=', new TokenHasher(test.config.secrets.tokenHashKey).hash('account', `handle:${handle}`))
      .executeTakeFirstOrThrow();
    return { browser, handle, codes: registered.json().recoveryCodes as string[], accountId: account.id, profileId: account.profileId };
  }
  const codesOf = async (accountId: string) => {
    const count = async (code: string) =>
      (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`territory_${code}.recovery_codes`)} where account_id = ${accountId}`.execute(test.database.db)).rows[0]!.n;
    return { main: await count('main'), se: await count('se') };
  };
  const recover = (handle: string, recoveryCode: string) => new Browser(test.app).request('POST', '/auth/recover', { handle, recoveryCode, newPassword: NEW_PASSWORD });

  // Regenerating replaces the codes (deletes the old ones, writes new ones): between copy and switch
  // in the old territory, after the switch in the new one. Either way the old codes must stay dead.
  for (const at of ['copied', 'switched'] as const) {
    it(`carries recovery codes regenerated after "${at}", and never brings the replaced ones back`, async () => {
      const mover = await handlePerson(`rc${at}`);
      await expect(crashingAfter(at).move(mover.profileId, { to: 'se', dualCitizenship: false }, 'crash')).rejects.toBe(crash);
      const renewed = await mover.browser.request('POST', '/api/v2/auth/recovery-codes');
      expectOk(renewed);
      expectOk(await mover.browser.request('POST', '/api/v2/federation/moves/resume'));
      expect(await codesOf(mover.accountId)).toEqual({ main: 0, se: 10 });
      expect((await recover(mover.handle, mover.codes[0]!)).json().code).toBe('INVALID_CREDENTIALS');
      expectOk(await recover(mover.handle, (renewed.json().recoveryCodes as string[])[0]!));
    });
  }

  // Real concurrency: the password change has found the old territory and is about to write there
  // (held at its insert) when the switch starts. The switch must wait for it, and carry the new hash.
  it.runIf(postgresUrl)('waits for a password change in flight in the old territory, and carries it (PostgreSQL)', async () => {
    const { person, browser, accountId } = await halfMoved('inflight');
    const held = await holdInserts(test.database.url!, 'territory_main.password_credentials');
    try {
      const changing = browser.request('PUT', '/api/v2/auth/password', { newPassword: NEW_PASSWORD });
      await waitFor(async () => (await held.waiters()) >= 1);
      let resumed = false;
      const resuming = browser.request('POST', '/api/v2/federation/moves/resume').finally(() => (resumed = true));
      // Either the switch waits for the change (two waiters), or it did not wait at all.
      await waitFor(async () => resumed || (await held.waiters()) >= 2);
      await held.release();
      expectOk(await changing);
      expectOk(await resuming);
    } finally {
      await held.close();
    }
    const hashes = await hashesOf(accountId);
    expect(hashes.main).toEqual([]);
    expect(hashes.se).toHaveLength(1);
    expect((await new Browser(test.app).login({ email: person.email, password: NEW_PASSWORD })).statusCode).toBe(200);
  });
});

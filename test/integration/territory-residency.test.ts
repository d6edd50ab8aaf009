import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { Db } from '../../src/db/database.js';
import type { TerritoryDatabases } from '../../src/db/territory-databases.js';
import { createMoveRepository } from '../../src/modules/citizenships/move-repository.js';
import { createMoveService } from '../../src/modules/citizenships/move-service.js';
import { createTerritoryRowsRepository } from '../../src/modules/citizenships/territory-rows-repository.js';
import { createOrphanRepository } from '../../src/modules/orphans/orphan-repository.js';
import { createOrphanSweeper } from '../../src/modules/orphans/orphan-sweep-service.js';
import { EmailBox, normalizeEmail } from '../../src/crypto/email-box.js';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { didKeyOf } from '../../src/auth/key/did-key.js';
import { newKeyPair, rawPublicKey, signKeyChallenge } from '../support/key-signer.js';
import type { TestApp } from '../support/app.js';
import { Browser, newPerson } from '../support/browser.js';
import { postgresUrl } from '../support/database.js';
import { startWithRemoteTerritory, type RemoteTerritory } from '../support/remote-territory.js';
import { addRecoveryCodes, expectOk, handleOf, registerMover, residencyOf, traceOf } from '../support/moves.js';
import { CHROME_MAC, registerPasskeyPerson, signInWithPasskey } from '../support/passkeys.js';

/**
 * Real residency: territory `no` lives on a second PostgreSQL database (TERRITORY_DATABASE_URLS),
 * so a move crosses two databases that share no transaction.
 */
describe.skipIf(!postgresUrl)('a territory on its own database', () => {
  let remote: RemoteTerritory;
  let test: TestApp;
  let direct: Db;
  let databases: TerritoryDatabases;

  beforeAll(async () => {
    remote = await startWithRemoteTerritory('no');
    ({ test, direct, databases } = remote);
  });
  afterAll(() => remote?.close());

  const where = (code: string) => (code === 'no' ? direct : test.database.db);
  const schemasIn = async (db: Db) =>
    (await sql<{ schema_name: string }>`select schema_name from information_schema.schemata where schema_name like 'territory_%' order by 1`.execute(db)).rows.map((row) => row.schema_name);

  it('keeps the territory\'s schema on the second database only', async () => {
    expect(await schemasIn(direct)).toEqual(['territory_no']);
    expect(await schemasIn(test.database.db)).toEqual(['territory_main']);
  });

  it('moves a person\'s rows into the second database and out of the global one', async () => {
    const mover = await registerMover(test, 'norway');
    await addRecoveryCodes(test.database.db, 'main', mover.accountId, 6, 1);
    expectOk(await mover.browser.request('POST', '/api/v2/federation/moves', { to: 'no' }), 201);
    const state = await residencyOf(test.database.db, where, mover, ['main', 'no']);
    expect(state).toMatchObject({ primary: ['no'], secondary: [], recoveryCodes: { main: 0, no: 6 }, usedCodes: { no: 1 }, openMoves: 0 });
    expect(state.residents.no).toEqual([{ id: expect.any(String), active: true }]);
    expect(state.residents.main).toEqual([{ id: expect.any(String), active: false }]);
    const citizenship = await test.database.db.selectFrom('citizenships').select('territory_user_id').where('accountability_profile_id', '=', mover.profileId).where('is_primary', '=', true).executeTakeFirstOrThrow();
    expect(citizenship.territory_user_id).toBe(state.residents.no![0]!.id);
  });

  it('after a crash between copy and switch, the rows wait in the second database; the resume switches and retires', async () => {
    const mover = await registerMover(test, 'halfway');
    await addRecoveryCodes(test.database.db, 'main', mover.accountId, 3);
    const { publicKeyHash } = await handleOf(test.database.db, mover.handle);
    const crash = new Error('crash');
    const crashing = createMoveService({
      moves: createMoveRepository(test.database.db),
      rows: createTerritoryRowsRepository(test.database.db, databases),
      cooldownDays: async () => 30,
      clock: systemClock,
      afterStep: (step) => {
        if (step === 'copied') throw crash;
      },
    });
    await expect(crashing.move(mover.profileId, { to: 'no', dualCitizenship: false }, 'crash')).rejects.toBe(crash);
    // Copied but not switched: the global row still says main, and both databases hold the rows.
    let state = await residencyOf(test.database.db, where, mover, ['main', 'no']);
    expect(state).toMatchObject({ primary: [], recoveryCodes: { main: 3, no: 3 }, sessionLabels: { main: 1, no: 1 }, openMoves: 1 });

    expectOk(await mover.browser.request('POST', '/api/v2/federation/moves/resume'));
    state = await residencyOf(test.database.db, where, mover, ['main', 'no']);
    expect(state).toMatchObject({ primary: ['no'], secondary: [], recoveryCodes: { main: 0, no: 3 }, sessionLabels: { main: 0, no: 1 }, openMoves: 0 });
    expect(state.residents.no).toEqual([{ id: expect.any(String), active: true }]);
    expect(await handleOf(test.database.db, mover.handle)).toEqual({ publicKeyHash, aliases: ['main'] });
    expect(await traceOf(test.database.db, mover.profileId)).toEqual({ events: ['PersonaMoved'], moveAudits: 1, moves: 1 });
  });

  /** The sign-in secrets of one account, counted in each database. */
  const secretsOf = async (accountId: string) => {
    const count = async (db: Db, code: string, table: string) =>
      (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`territory_${code}.${table}`)} where account_id = ${accountId}`.execute(db)).rows[0]!.n;
    const tables = ['account_emails', 'account_identifiers', 'password_credentials', 'key_credentials'];
    return {
      main: Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await count(test.database.db, 'main', table)]))),
      no: Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await count(direct, 'no', table)]))),
    };
  };

  it("moves a person's sealed email and password hash into the second database; they sign in and change their password there", async () => {
    const person = newPerson('secrets');
    const browser = new Browser(test.app);
    const registered = await browser.register(person);
    expect(registered.statusCode).toBe(201);
    const box = new EmailBox(test.config.secrets.emailKeys, new TokenHasher(test.config.secrets.tokenHashKey));
    const account = await test.database.db.selectFrom('accounts').select('id').where('lookup_key', '=', box.lookupKey(normalizeEmail(person.email))).executeTakeFirstOrThrow();
    expect(await secretsOf(account.id)).toEqual({
      main: { account_emails: 1, account_identifiers: 0, password_credentials: 1, key_credentials: 0 },
      no: { account_emails: 0, account_identifiers: 0, password_credentials: 0, key_credentials: 0 },
    });
    const claimed = await browser.request('PUT', `/personas/${registered.json().personaId}/handle`, { handle: `sec_${Date.now().toString(36)}` });
    expect(claimed.statusCode, claimed.body).toBe(200);
    expectOk(await browser.request('POST', '/api/v2/federation/moves', { to: 'no' }), 201);

    expect(await secretsOf(account.id)).toEqual({
      main: { account_emails: 0, account_identifiers: 0, password_credentials: 0, key_credentials: 0 },
      no: { account_emails: 1, account_identifiers: 0, password_credentials: 1, key_credentials: 0 },
    });
    const sealed = await sql<{ key_id: string; sealed: Buffer }>`select key_id, sealed from territory_no.account_emails where account_id = ${account.id}`.execute(direct);
    expect(box.open(account.id, { keyId: sealed.rows[0]!.key_id, sealed: Buffer.from(sealed.rows[0]!.sealed) })).toBe(person.email);
    // Sign-in reads the password hash from the second database.
    expect((await new Browser(test.app).login(person)).statusCode).toBe(200);
    const before = await sql<{ hash: string }>`select hash from territory_no.password_credentials where account_id = ${account.id}`.execute(direct);
    const changed = await browser.request('PUT', '/api/v2/auth/password', { newPassword: 'amber otters drift past the northern pier' });
    expect(changed.statusCode, changed.body).toBe(200);
    const after = await sql<{ hash: string }>`select hash from territory_no.password_credentials where account_id = ${account.id}`.execute(direct);
    expect(after.rows[0]!.hash).not.toBe(before.rows[0]!.hash);
    expect((await new Browser(test.app).login(person)).statusCode).toBe(401);
    expect((await new Browser(test.app).login({ email: person.email, password: 'amber otters drift past the northern pier' })).statusCode).toBe(200);
    expect(await secretsOf(account.id)).toMatchObject({ main: { password_credentials: 0 } });
  });

  it('registers a person straight into the second database: their identifier and password live there only', async () => {
    const { email: _email, ...person } = newPerson('straight');
    const handle = `str_${Date.now().toString(36)}`;
    const response = await new Browser(test.app).request('POST', '/auth/register', { ...person, handle, territory: 'no' });
    expect(response.statusCode, response.body).toBe(201);
    const hasher = new TokenHasher(test.config.secrets.tokenHashKey);
    const account = await test.database.db.selectFrom('accounts').select('id').where('lookup_key', '=', hasher.hash('account', `handle:${handle}`)).executeTakeFirstOrThrow();
    expect(await secretsOf(account.id)).toEqual({
      main: { account_emails: 0, account_identifiers: 0, password_credentials: 0, key_credentials: 0 },
      no: { account_emails: 0, account_identifiers: 1, password_credentials: 1, key_credentials: 0 },
    });
    expect((await new Browser(test.app).request('POST', '/auth/login', { handle, password: person.password })).statusCode).toBe(200);
  });

  it("moves a key person's ed25519 key into the second database; they sign in with it there, and their handle keeps its did:key", async () => {
    const pair = newKeyPair();
    const signIn = async () => {
      const asked = await test.app.inject({ method: 'POST', url: '/api/v2/auth/challenge', payload: { strategy: 'key', publicKey: pair.publicKey } });
      const response = await test.app.inject({ method: 'POST', url: '/api/v2/auth/authenticate', payload: { ...signKeyChallenge(asked.json(), pair), client: 'api' } });
      expect(response.statusCode, response.body).toBe(200);
      return response.json();
    };
    const first = await signIn();
    const bearer = { authorization: `Bearer ${first.accessToken}` };
    const hasher = new TokenHasher(test.config.secrets.tokenHashKey);
    const account = await test.database.db.selectFrom('accounts').select('id').where('lookup_key', '=', hasher.hash('account', `key:${didKeyOf(rawPublicKey(pair))}`)).executeTakeFirstOrThrow();
    expect(await secretsOf(account.id)).toMatchObject({ main: { key_credentials: 1 }, no: { key_credentials: 0 } });
    const handle = `key_${Date.now().toString(36)}`;
    expectOk(await test.app.inject({ method: 'PUT', url: `/personas/${first.profiles[0].id}/handle`, headers: bearer, payload: { handle } }));
    const wallet = await test.app.inject({ method: 'POST', url: `/api/v2/profiles/${first.profiles[0].id}/session-wallet`, headers: bearer });
    expect(wallet.statusCode, wallet.body).toBe(201);
    expectOk(await test.app.inject({ method: 'POST', url: '/api/v2/federation/moves', headers: bearer, payload: { to: 'no' } }), 201);
    // The persona's session-wallet key went with the person, the address stayed global.
    const walletKeys = async (db: Db, code: string) =>
      (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`territory_${code}.persona_wallet_keys`)} where persona_id = ${first.profiles[0].id}`.execute(db)).rows[0]!.n;
    expect({ main: await walletKeys(test.database.db, 'main'), no: await walletKeys(direct, 'no') }).toEqual({ main: 0, no: 1 });

    expect(await secretsOf(account.id)).toMatchObject({ main: { key_credentials: 0 }, no: { key_credentials: 1 } });
    const stored = await sql<{ public_key: Buffer }>`select public_key from territory_no.key_credentials where account_id = ${account.id}`.execute(direct);
    expect(Buffer.from(stored.rows[0]!.public_key)).toEqual(rawPublicKey(pair));
    // The same key signs the same person in, read from the second database.
    expect(await signIn()).toMatchObject({ isNewUser: false, profiles: [{ id: first.profiles[0].id }] });
    const { identity } = (await test.app.inject({ method: 'GET', url: `/identities/${handle}` })).json();
    expect(identity.did).toBe(didKeyOf(rawPublicKey(pair)));
  });

  it("moves a passkey person's credential and session labels into the second database; they sign in there, and a clone is flagged there", async () => {
    const person = await registerPasskeyPerson(test);
    const rowsOf = async (db: Db, code: string) => ({
      passkeys: (await sql<{ counter: string; regressed: boolean }>`
        select counter::text, counter_regressed_at is not null as regressed from ${sql.table(`territory_${code}.passkey_credentials`)} where account_id = ${person.accountId}`.execute(db)).rows.map(
        (row) => ({ counter: Number(row.counter), regressed: row.regressed }),
      ),
      labels: (await sql<{ label: string }>`select label from ${sql.table(`territory_${code}.session_labels`)} where account_id = ${person.accountId} order by label`.execute(db)).rows.map((row) => row.label),
    });
    expect(await rowsOf(test.database.db, 'main')).toEqual({ passkeys: [{ counter: 0, regressed: false }], labels: ['Firefox on Linux'] });
    expectOk(await person.browser.request('PUT', `/personas/${person.personaId}/handle`, { handle: `pk_${Date.now().toString(36)}` }));
    expectOk(await person.browser.request('POST', '/api/v2/federation/moves', { to: 'no' }), 201);
    expect(await rowsOf(test.database.db, 'main')).toEqual({ passkeys: [], labels: [] });
    expect(await rowsOf(direct, 'no')).toEqual({ passkeys: [{ counter: 0, regressed: false }], labels: ['Firefox on Linux'] });

    // Found through the global keyed hash, verified against the key in the second database, counted there.
    const again = await signInWithPasskey(test, person, CHROME_MAC);
    expect(again.response.statusCode, again.response.body).toBe(200);
    expect(again.response.json().isNewUser).toBe(false);
    expect(await rowsOf(direct, 'no')).toEqual({ passkeys: [{ counter: 1, regressed: false }], labels: ['Chrome on macOS', 'Firefox on Linux'] });
    const listed = (await again.browser.request('GET', '/api/v2/auth/sessions')).json().sessions.map((session: { deviceLabel: string | null }) => session.deviceLabel);
    expect(listed.sort()).toEqual(['Chrome on macOS', 'Firefox on Linux']);

    const clone = await signInWithPasskey(test, person, CHROME_MAC, { signCount: 1 });
    expect(clone.response.statusCode).toBe(401);
    expect((await rowsOf(direct, 'no')).passkeys).toEqual([{ counter: 1, regressed: true }]);
    const events = await sql<{ n: number }>`select count(*)::int as n from outbox where type = 'PasskeyCounterRegressed' and payload->>'accountId' = ${person.accountId}`.execute(test.database.db);
    expect(events.rows[0]!.n).toBe(1);

    // A session ended: its label waits in the second database until the sweep, which pages through it.
    const sessions = (await again.browser.request('GET', '/api/v2/auth/sessions')).json().sessions as Array<{ id: string; deviceLabel: string; current: boolean }>;
    const first = sessions.find((session) => !session.current)!;
    expect(first.deviceLabel).toBe('Firefox on Linux');
    expectOk(await again.browser.request('DELETE', `/api/v2/auth/sessions/${first.id}`));
    expect((await rowsOf(direct, 'no')).labels).toEqual(['Chrome on macOS', 'Firefox on Linux']);
    const anHourLater = { now: () => new Date(Date.now() + 3_600_000) };
    const swept = await createOrphanSweeper({ orphans: createOrphanRepository(test.database.db, databases), clock: anHourLater, graceSeconds: 600, pageSize: 2 }).sweep();
    expect(swept.deleted.session_labels).toBeGreaterThanOrEqual(1);
    expect((await rowsOf(direct, 'no')).labels).toEqual(['Chrome on macOS']);

    // Deleting the identity reaches the second database.
    expectOk(await again.browser.request('DELETE', '/api/v2/auth/identity'));
    expect(await rowsOf(direct, 'no')).toEqual({ passkeys: [], labels: [] });
  });

  it("keeps an appeal's statement and the browser's identification in the second database, and reads them there", async () => {
    const sealedIn = async (db: Db, code: string) =>
      (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`territory_${code}.sealed_identity_links`)}`.execute(db)).rows[0]!.n;
    const before = await sealedIn(test.database.db, 'main');
    const browser = new Browser(test.app);
    // Stored while the browser is nobody yet: the default territory, in the global database.
    expect((await browser.request('POST', '/identity-link', { identityData: { name: 'Sonja Henie' }, consent: true })).statusCode).toBe(201);
    expect(await sealedIn(test.database.db, 'main')).toBe(before + 1);
    const person = newPerson('remote-appeal');
    expect((await new Browser(test.app).request('POST', '/auth/register', { ...person, territory: 'no' })).statusCode).toBe(201);
    // Signing in as the person in `no` carries the identification across servers.
    expect((await browser.login(person)).statusCode).toBe(200);
    expect({ main: await sealedIn(test.database.db, 'main'), no: await sealedIn(direct, 'no') }).toEqual({ main: before, no: 1 });
    expect((await browser.request('GET', '/identity-link')).json().identityData).toEqual({ name: 'Sonja Henie' });

    const persona = (await browser.request('GET', '/personas')).json().personas[0].id as string;
    const opened = await test.app.inject({ method: 'POST', url: '/admin/appeals', headers: test.adminHeaders, payload: { personaId: persona, statement: 'Skated, did not spam.' } });
    expect(opened.statusCode, opened.body).toBe(201);
    const appealId = opened.json().appeal.id as string;
    const statements = await sql<{ statement: string }>`select statement from territory_no.appeal_statements where appeal_id = ${appealId}`.execute(direct);
    expect(statements.rows).toEqual([{ statement: 'Skated, did not spam.' }]);
    const queue = (await test.app.inject({ method: 'GET', url: '/admin/appeals?status=open&limit=999', headers: test.adminHeaders })).json().appeals;
    expect(queue.find((appeal: { id: string }) => appeal.id === appealId).statement).toBe('Skated, did not spam.');

    expect((await browser.request('DELETE', '/identity-link')).json().deleted).toBe(true);
    expect({ main: await sealedIn(test.database.db, 'main'), no: await sealedIn(direct, 'no') }).toEqual({ main: before, no: 0 });
  });

  /**
   * Makes the global transaction fail at COMMIT, after every write (the territory's included), when it
   * inserted into `table` (or deleted from it): a deferred constraint trigger. Answers the function that removes it.
   */
  async function failAtCommit(table: string, event: 'insert' | 'delete' = 'insert'): Promise<() => Promise<void>> {
    await sql.raw(`create function fail_at_commit() returns trigger language plpgsql as $$ begin raise exception 'failed at commit'; end; $$`).execute(test.database.db);
    await sql.raw(`create constraint trigger fail_at_commit after ${event} on ${table} deferrable initially deferred for each row execute function fail_at_commit()`).execute(test.database.db);
    return async () => {
      await sql.raw(`drop trigger fail_at_commit on ${table}`).execute(test.database.db);
      await sql.raw('drop function fail_at_commit()').execute(test.database.db);
    };
  }
  const countIn = async (db: Db, table: string) => (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`territory_no.${table}`)}`.execute(db)).rows[0]!.n;
  const REMOTE_TABLES = ['key_credentials', 'account_identifiers', 'session_labels', 'sealed_identity_links', 'residents', 'account_emails', 'password_credentials'];
  const remoteCounts = async () => Object.fromEntries(await Promise.all(REMOTE_TABLES.map(async (table) => [table, await countIn(direct, table)])));

  it('a key linked to a person there, whose global transaction fails at its commit, leaves no row in the second database', async () => {
    const browser = new Browser(test.app);
    expect((await browser.request('POST', '/auth/register', { ...newPerson('keyfail'), territory: 'no' })).statusCode).toBe(201);
    const pair = newKeyPair();
    const link = async () => {
      const challenge = (await browser.request('POST', '/api/v2/auth/challenge', { strategy: 'key', publicKey: pair.publicKey, purpose: 'link' })).json();
      const { strategy: _strategy, ...proof } = signKeyChallenge(challenge, pair);
      return browser.request('POST', '/api/v2/auth/link-accounts', { targetType: 'key', privacyMode: 'linked', proof });
    };
    const before = await remoteCounts();
    const restore = await failAtCommit('account_links');
    try {
      const failed = await link();
      expect([failed.statusCode, failed.json().code]).toEqual([500, 'INTERNAL_ERROR']);
    } finally {
      await restore();
    }
    // Neither the key nor the sealed did:key of the account that never was stays in the territory.
    expect(await remoteCounts()).toEqual(before);
    const linked = await link();
    expect(linked.statusCode, linked.body).toBe(200);
    expect(await countIn(direct, 'key_credentials')).toBe(before.key_credentials + 1);
  });

  it('a sign-in there whose global transaction fails at its commit leaves no label, and the identification readable under the old token', async () => {
    const person = newPerson('signfail');
    const browser = new Browser(test.app, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0' });
    expect((await browser.request('POST', '/auth/register', { ...person, territory: 'no' })).statusCode).toBe(201);
    const data = { identityData: { name: 'Roald Amundsen' }, consent: true };
    expect((await browser.request('POST', '/identity-link', data)).statusCode).toBe(201);
    const before = await remoteCounts();
    const restore = await failAtCommit('sessions');
    try {
      const failed = await browser.login(person);
      expect([failed.statusCode, failed.json().code]).toEqual([500, 'INTERNAL_ERROR']);
      // A registration there fails the same way, and leaves no resident, identifier or password.
      const { email: _email, ...byHandle } = newPerson('regfail');
      const refused = await new Browser(test.app).request('POST', '/auth/register', { ...byHandle, handle: `rf_${Date.now().toString(36)}`, territory: 'no' });
      expect(refused.statusCode).toBe(500);
    } finally {
      await restore();
    }
    expect(await remoteCounts()).toEqual(before);
    expect((await browser.request('GET', '/identity-link')).json().identityData).toEqual(data.identityData);
    expect((await browser.login(person)).statusCode).toBe(200);
    expect((await browser.request('GET', '/identity-link')).json().identityData).toEqual(data.identityData);
  });

  it("a guest brought along into a person there, whose merge fails at its commit, keeps its appeal statement and wallet key", async () => {
    const guest = new Browser(test.app);
    const personaId = (await guest.request('POST', '/session')).json().persona.id as string;
    expectOk(await guest.request('POST', `/api/v2/profiles/${personaId}/session-wallet`), 201);
    const appeal = await test.app.inject({ method: 'POST', url: '/admin/appeals', headers: test.adminHeaders, payload: { personaId, statement: 'A guest\'s own words.' } });
    expect(appeal.statusCode, appeal.body).toBe(201);
    const appealId = appeal.json().appeal.id as string;
    const { accountability_profile_id: guestProfile } = await test.database.db.selectFrom('personas').select('accountability_profile_id').where('id', '=', personaId).executeTakeFirstOrThrow();
    const person = new Browser(test.app);
    expect((await person.request('POST', '/auth/register', { ...newPerson('merge-fails'), territory: 'no' })).statusCode).toBe(201);
    person.jar.set('anon_id', guest.jar.get('anon_id')!);
    /** Whose statement and wallet key each database holds. */
    const holders = async () => {
      const of = async (db: Db, code: string) => ({
        statements: (await sql<{ p: string }>`select accountability_profile_id as p from ${sql.table(`territory_${code}.appeal_statements`)} where appeal_id = ${appealId}`.execute(db)).rows.map((row) => row.p),
        keys: (await sql<{ p: string }>`select accountability_profile_id as p from ${sql.table(`territory_${code}.persona_wallet_keys`)} where persona_id = ${personaId}`.execute(db)).rows.map((row) => row.p),
      });
      return { main: await of(test.database.db, 'main'), no: await of(direct, 'no') };
    };
    expect(await holders()).toEqual({ main: { statements: [guestProfile], keys: [guestProfile] }, no: { statements: [], keys: [] } });

    // The merge deletes the guest's accountability profile; nothing else in this request deletes one.
    const restore = await failAtCommit('accountability_profiles', 'delete');
    try {
      const failed = await person.request('POST', '/api/v2/auth/link-accounts', { targetType: 'guest' });
      expect([failed.statusCode, failed.json().code]).toEqual([500, 'INTERNAL_ERROR']);
    } finally {
      await restore();
    }
    // The copies the merge wrote into the second database are gone again; the guest still holds its own.
    expect(await holders()).toEqual({ main: { statements: [guestProfile], keys: [guestProfile] }, no: { statements: [], keys: [] } });

    expectOk(await person.request('POST', '/api/v2/auth/link-accounts', { targetType: 'guest' }));
    const { accountability_profile_id: personProfile } = await test.database.db.selectFrom('personas').select('accountability_profile_id').where('id', '=', personaId).executeTakeFirstOrThrow();
    expect(personProfile).not.toBe(guestProfile);
    expect(await holders()).toEqual({ main: { statements: [], keys: [] }, no: { statements: [personProfile], keys: [personProfile] } });
  });

  it('an invitation there with an address, whose global transaction fails at its commit, leaves no address in the second database', async () => {
    const before = await countIn(direct, 'invitation_emails');
    const invite = () => test.app.inject({ method: 'POST', url: '/admin/invitations', headers: test.adminHeaders, payload: { territory: 'no', kind: 'single_use', email: `invited-${Date.now()}@example.org` } });
    const restore = await failAtCommit('invitations');
    try {
      const failed = await invite();
      expect([failed.statusCode, failed.json().code]).toEqual([500, 'INTERNAL_ERROR']);
    } finally {
      await restore();
    }
    expect(await countIn(direct, 'invitation_emails')).toBe(before);
    expect((await invite()).statusCode).toBe(201);
    expect(await countIn(direct, 'invitation_emails')).toBe(before + 1);
  });

  it('erases an identity from the second database too', async () => {
    const { email: _email, ...person } = newPerson('gone');
    const handle = `gon_${Date.now().toString(36)}`;
    const browser = new Browser(test.app);
    expect((await browser.request('POST', '/auth/register', { ...person, handle, territory: 'no' })).statusCode).toBe(201);
    const hasher = new TokenHasher(test.config.secrets.tokenHashKey);
    const account = await test.database.db.selectFrom('accounts').select('id').where('lookup_key', '=', hasher.hash('account', `handle:${handle}`)).executeTakeFirstOrThrow();
    const erased = await browser.request('DELETE', '/api/v2/auth/identity');
    expect(erased.statusCode, erased.body).toBeLessThan(300);
    expect(await secretsOf(account.id)).toEqual({
      main: { account_emails: 0, account_identifiers: 0, password_credentials: 0, key_credentials: 0 },
      no: { account_emails: 0, account_identifiers: 0, password_credentials: 0, key_credentials: 0 },
    });
  });
});

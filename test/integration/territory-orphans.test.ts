import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasskeyCredentialRepository } from '../../src/auth/passkey/passkey-credential-repository.js';
import { systemClock } from '../../src/clock.js';
import { runCommand } from '../../src/commands.js';
import { TokenHasher } from '../../src/crypto/tokens.js';
import type { Db } from '../../src/db/database.js';
import { openTerritoryDatabases, type TerritoryDatabases } from '../../src/db/territory-databases.js';
import type { TerritoryDatabase } from '../../src/db/territory-schema.js';
import { createAppealStatementStore } from '../../src/modules/accountability/appeal-statement-repository.js';
import { createAccountSecretStore } from '../../src/modules/accounts/account-secret-repository.js';
import { createRecoveryCodeStore } from '../../src/modules/accounts/recovery-code-repository.js';
import { createMoveRepository } from '../../src/modules/citizenships/move-repository.js';
import { createMoveService } from '../../src/modules/citizenships/move-service.js';
import { createTerritoryRowsRepository } from '../../src/modules/citizenships/territory-rows-repository.js';
import { createOrphanRepository } from '../../src/modules/orphans/orphan-repository.js';
import { ORPHAN_RULES } from '../../src/modules/orphans/orphan-rules.js';
import { createOrphanSweeper, type OrphanSweeper } from '../../src/modules/orphans/orphan-sweep-service.js';
import { createSessionLabelStore } from '../../src/modules/sessions/session-label-repository.js';
import { startTestApp, testEnvironment, type TestApp } from '../support/app.js';
import { postgresUrl } from '../support/database.js';
import { startWithRemoteTerritory, type RemoteTerritory } from '../support/remote-territory.js';
import { addRecoveryCodes, createTerritory, expectOk, registerMover, type Mover } from '../support/moves.js';

/**
 * The orphan sweep (src/modules/orphans): a territory row whose owning global row does not exist —
 * left by a process that died between a remote write and the global commit, or by a session that
 * ended — is deleted once older than the grace period, and not before. A live person's rows are
 * never touched, wherever they are: in the middle of a move, or in both territories of a dual
 * citizenship. Run in the default territory (global database) in both modes, and on a territory
 * of its own database when PostgreSQL is there.
 */

const MINUTE = 60_000;
const GRACE_SECONDS = 600;
const TABLES = Object.keys(ORPHAN_RULES) as Array<keyof TerritoryDatabase>;

/** The ids of a person the global database never committed (or has forgotten): what their rows name. */
interface Ghost {
  readonly profileId: string;
  readonly accountId: string;
  readonly personaId: string;
  readonly sessionId: string;
  readonly appealId: string;
  readonly invitationId: string;
  readonly lookupKey: Buffer;
}

const newGhost = (): Ghost => ({
  profileId: randomUUID(), accountId: randomUUID(), personaId: randomUUID(), sessionId: randomUUID(), appealId: randomUUID(), invitationId: randomUUID(), lookupKey: randomBytes(32),
});

/** How each table names the ghost. */
const ghostColumn = (table: keyof TerritoryDatabase, ghost: Ghost): [string, string | Buffer] => {
  const rule = ORPHAN_RULES[table];
  if (rule.kind === 'pointed') return ['lookup_key', ghost.lookupKey];
  const byOwner: Record<typeof rule.owner, string> = {
    accountability_profiles: ghost.profileId, accounts: ghost.accountId, personas: ghost.personaId, sessions: ghost.sessionId, appeals: ghost.appealId, invitations: ghost.invitationId,
  };
  return [rule.column, byOwner[rule.owner]];
};

/** The ghost's rows in one territory, counted per table. */
async function ghostRows(db: Db, code: string, ghost: Ghost): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const [column, value] = ghostColumn(table, ghost);
    counts[table] = (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`territory_${code}.${table}`)} where ${sql.ref(column)} = ${value}`.execute(db)).rows[0]!.n;
  }
  return counts;
}

const every = (n: number) => Object.fromEntries(TABLES.map((table) => [table, n]));
const sealedSecret = () => ({ keyId: 'k1', sealed: randomBytes(48) });

/** One row of the ghost in every table of the territory, written straight in (what a crash, long ago, left). */
async function writeGhostRows(territory: Kysely<TerritoryDatabase>, ghost: Ghost): Promise<void> {
  const { profileId, accountId } = ghost;
  await territory.insertInto('residents').values({ id: randomUUID(), accountability_profile_id: profileId }).execute();
  await territory.insertInto('recovery_codes').values({ account_id: accountId, code_hash: randomBytes(32) }).execute();
  await territory.insertInto('invitation_emails').values({ invitation_id: ghost.invitationId, lookup_key: randomBytes(32), key_id: 'k1', sealed: randomBytes(48) }).execute();
  await territory.insertInto('account_emails').values({ account_id: accountId, key_id: 'k1', sealed: randomBytes(48) }).execute();
  await territory.insertInto('account_identifiers').values({ account_id: accountId, key_id: 'k1', sealed: randomBytes(48) }).execute();
  await territory.insertInto('password_credentials').values({ account_id: accountId, hash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' }).execute();
  await territory.insertInto('key_credentials').values({ account_id: accountId, public_key: randomBytes(32) }).execute();
  await territory.insertInto('passkey_credentials').values({ account_id: accountId, credential_id: randomBytes(16).toString('base64url'), public_key: randomBytes(77) }).execute();
  await territory.insertInto('persona_wallet_keys').values({ persona_id: ghost.personaId, accountability_profile_id: profileId, key_id: 'k1', private_sealed: randomBytes(60) }).execute();
  await territory.insertInto('session_labels').values({ session_id: ghost.sessionId, account_id: accountId, label: 'Firefox on Linux' }).execute();
  await territory.insertInto('appeal_statements').values({ appeal_id: ghost.appealId, accountability_profile_id: profileId, statement: 'never committed' }).execute();
  await territory.insertInto('sealed_identity_links').values({ lookup_key: ghost.lookupKey, sealed: randomBytes(64) }).execute();
}

/** Every territory row of a person (by their profile, accounts, personas, sessions and appeals), counted per table. */
async function personRows(global: Db, territory: Db, code: string, profileId: string): Promise<Record<string, number>> {
  const ids = async (query: Promise<Array<{ id: string }>>) => (await query).map((row) => row.id);
  const owners = {
    accountability_profiles: [profileId],
    accounts: await ids(global.selectFrom('accounts').select('id').where('accountability_profile_id', '=', profileId).execute()),
    personas: await ids(global.selectFrom('personas').select('id').where('accountability_profile_id', '=', profileId).execute()),
    sessions: await ids(global.selectFrom('sessions as s').innerJoin('accounts as a', 'a.id', 's.account_id').select('s.id').where('a.accountability_profile_id', '=', profileId).execute()),
    appeals: await ids(global.selectFrom('appeals').select('id').where('accountability_profile_id', '=', profileId).execute()),
    invitations: [] as string[],
  };
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const rule = ORPHAN_RULES[table];
    if (rule.kind !== 'owned' || owners[rule.owner].length === 0) continue;
    const list = sql.join(owners[rule.owner].map((id) => sql`${id}::uuid`));
    const n = (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`territory_${code}.${table}`)} where ${sql.ref(rule.column)} in (${list})`.execute(territory)).rows[0]!.n;
    if (n > 0) counts[table] = n;
  }
  return counts;
}

/**
 * People who live, with rows in `target` as well as in the default territory: one in the middle of a
 * move there (crashed after its copy), one who moved there keeping the old citizenship. Each has
 * recovery codes, a session wallet and an appeal, so every kind of owner is represented.
 */
async function livePeople(test: TestApp, databases: TerritoryDatabases, target: string): Promise<Mover[]> {
  const people: Mover[] = [];
  for (const tag of ['midmove', 'dual']) {
    const person = await registerMover(test, tag);
    await addRecoveryCodes(test.database.db, 'main', person.accountId, 2);
    const persona = await test.database.db.selectFrom('personas').select('id').where('accountability_profile_id', '=', person.profileId).executeTakeFirstOrThrow();
    expectOk(await person.browser.request('POST', `/api/v2/profiles/${persona.id}/session-wallet`), 201);
    const appeal = await test.app.inject({ method: 'POST', url: '/admin/appeals', headers: test.adminHeaders, payload: { personaId: persona.id, statement: `${tag} words` } });
    expect(appeal.statusCode, appeal.body).toBe(201);
    people.push(person);
  }
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
  await expect(crashing.move(people[0]!.profileId, { to: target, dualCitizenship: false }, 'crash')).rejects.toBe(crash);
  expectOk(await people[1]!.browser.request('POST', '/api/v2/federation/moves', { to: target, dualCitizenship: true }), 201);
  return people;
}

/** The sweep at a moment the test sets, one sweeper throughout (its sightings carry over, as in the service). */
function sweepAtMoments(db: Db, databases: TerritoryDatabases): { sweeper: OrphanSweeper; at(ms: number): void } {
  let now = Date.now();
  return {
    sweeper: createOrphanSweeper({ orphans: createOrphanRepository(db, databases), clock: { now: () => new Date(now) }, graceSeconds: GRACE_SECONDS, pageSize: 3 }),
    at: (ms) => {
      now = ms;
    },
  };
}

describe('the orphan sweep in the default territory (the global database)', () => {
  let test: TestApp;
  let databases: TerritoryDatabases;
  const LOCAL = 'lo';

  beforeAll(async () => {
    test = await startTestApp();
    await createTerritory(test, LOCAL);
    databases = openTerritoryDatabases(test.database.db, {});
  });
  afterAll(() => test?.close());

  const db = () => test.database.db;
  const main = () => db().withSchema('territory_main') as unknown as Kysely<TerritoryDatabase>;

  it('deletes rows naming nobody once older than the grace period, and not before; live people keep every row', async () => {
    const people = await livePeople(test, databases, LOCAL);
    const before = await Promise.all(people.map(async (person) => ({ main: await personRows(db(), db(), 'main', person.profileId), lo: await personRows(db(), db(), LOCAL, person.profileId) })));
    // Both hold rows in both territories (the check below means something).
    for (const rows of before) expect(rows.lo).toMatchObject({ residents: 1, recovery_codes: 2, persona_wallet_keys: 1, appeal_statements: 1, session_labels: 1, account_emails: 1 });
    expect(before[1]!.main).toMatchObject({ recovery_codes: 2, persona_wallet_keys: 1, appeal_statements: 1 });

    const ghost = newGhost();
    await writeGhostRows(main(), ghost);
    const written = Date.now();
    const { sweeper, at } = sweepAtMoments(db(), databases);
    at(written);
    await sweeper.sweep();
    at(written + 5 * MINUTE);
    await sweeper.sweep();
    expect(await ghostRows(db(), 'main', ghost)).toEqual(every(1));

    at(written + 11 * MINUTE);
    const report = await sweeper.sweep();
    expect(await ghostRows(db(), 'main', ghost)).toEqual(every(0));
    for (const table of TABLES) expect(report.deleted[table], table).toBeGreaterThanOrEqual(1);
    expect(report.failed).toEqual([]);
    const after = await Promise.all(people.map(async (person) => ({ main: await personRows(db(), db(), 'main', person.profileId), lo: await personRows(db(), db(), LOCAL, person.profileId) })));
    expect(after).toEqual(before);
  });

  it('runs every ORPHAN_SWEEP_INTERVAL_SECONDS inside the service, counts what it deleted in /metrics, and logs it', async () => {
    const ghost = newGhost();
    await writeGhostRows(main(), ghost);
    // A second node on the same database, whose clock is past the grace period.
    const node = await startTestApp({ database: test.database, clock: { now: () => new Date(Date.now() + 60 * MINUTE) }, env: { ORPHAN_SWEEP_INTERVAL_SECONDS: '1' } });
    try {
      for (let waited = 0; waited < 10_000 && (await ghostRows(db(), 'main', ghost)).account_emails! > 0; waited += 100) await delay(100);
      expect((await ghostRows(db(), 'main', ghost)).account_emails).toBe(0);
      const metrics = (await node.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/personae_territory_orphans_deleted_total\{territory="main",table="account_emails"\} [1-9]/);
    } finally {
      await node.close();
    }
    expect(node.logs.join('')).toContain('orphan sweep finished');
  });

  it('runs from the command line (node dist/cli.js sweep-orphans), which counts rows written before 0007 as old', async () => {
    const ghost = newGhost();
    await writeGhostRows(main(), ghost);
    // Aged as the migration ages rows it finds (the epoch), or as an hour passing would.
    for (const table of TABLES) {
      const rule = ORPHAN_RULES[table];
      if (rule.kind !== 'owned') continue;
      const [column, value] = ghostColumn(table, ghost);
      await sql`update ${sql.table(`territory_main.${table}`)} set ${sql.ref(rule.writtenAt)} = 'epoch' where ${sql.ref(column)} = ${value}`.execute(db());
    }
    const lines: string[] = [];
    const code = await runCommand('sweep-orphans', { env: testEnvironment(), database: test.database, print: (line) => lines.push(line), printError: (line) => lines.push(line) });
    expect(code, lines.join('\n')).toBe(0);
    expect(lines.at(-1)).toMatch(/^deleted \d+ orphaned territory row\(s\) \(.*account_emails \d+.*\)$/);
    // Voluntary identification carries no time: one command has no earlier sighting to go by, the service does.
    expect(await ghostRows(db(), 'main', ghost)).toEqual({ ...every(0), sealed_identity_links: 1 });
  });
});

describe.skipIf(!postgresUrl)('the orphan sweep in a territory on its own database', () => {
  let remote: RemoteTerritory;
  let test: TestApp;
  let direct: Db;
  let databases: TerritoryDatabases;

  beforeAll(async () => {
    remote = await startWithRemoteTerritory('no');
    ({ test, direct, databases } = remote);
  });
  afterAll(() => remote?.close());

  const db = () => test.database.db;

  /**
   * A process that dies after its remote writes and before its global commit: every store writes the
   * ghost's rows as a registration (and more) there would, and the global transaction never commits.
   * A plain transaction registers no undo (`undoIfAborted` does nothing outside crossDatabaseTransaction),
   * just as a dead process runs none.
   */
  async function crashAfterRemoteWrites(ghost: Ghost): Promise<void> {
    const secrets = createAccountSecretStore(db(), databases);
    const crash = new Error('the process died before its global commit');
    await expect(
      db().transaction().execute(async (trx) => {
        const owner = { accountId: ghost.accountId, profileId: ghost.profileId };
        const residentId = randomUUID();
        await trx.insertInto('accountability_profiles').values({ id: ghost.profileId }).execute();
        await trx.insertInto('citizenships').values({ accountability_profile_id: ghost.profileId, territory_code: 'no', territory_user_id: residentId, is_primary: true }).execute();
        await trx.insertInto('accounts').values({ id: ghost.accountId, type: 'email', lookup_key: randomBytes(32), accountability_profile_id: ghost.profileId }).execute();
        await createTerritoryRowsRepository(db(), databases).ensureResident('no', { accountabilityProfileId: ghost.profileId, accountIds: [ghost.accountId] }, residentId, trx);
        await createRecoveryCodeStore(db(), databases).replace(trx, owner, [randomBytes(32)]);
        await secrets.sealEmail(trx, owner, sealedSecret());
        await secrets.sealIdentifier(trx, owner, sealedSecret());
        await secrets.setPassword(trx, owner, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA');
        await secrets.addKey(trx, owner, randomBytes(32));
        await createPasskeyCredentialRepository(db(), databases, new TokenHasher(test.config.secrets.tokenHashKey)).insert(trx, owner, {
          credentialId: randomBytes(16).toString('base64url'), publicKey: randomBytes(77), counter: 0, transports: [],
        });
        await secrets.sealWalletKey(trx, { personaId: ghost.personaId, profileId: ghost.profileId }, sealedSecret());
        await createSessionLabelStore(db(), databases).label(trx, owner, ghost.sessionId, 'Firefox on Linux');
        await createAppealStatementStore(db(), databases).write(trx, { id: ghost.appealId, profileId: ghost.profileId }, 'never committed');
        // An invitation's address and a browser's identification, written there as their repositories do.
        await databases.of('no', trx).insertInto('invitation_emails').values({ invitation_id: ghost.invitationId, lookup_key: randomBytes(32), key_id: 'k1', sealed: randomBytes(48) }).execute();
        await databases.of('no', trx).insertInto('sealed_identity_links').values({ lookup_key: ghost.lookupKey, sealed: randomBytes(64) }).execute();
        throw crash;
      }),
    ).rejects.toBe(crash);
  }

  it('deletes what a crash between the remote writes and the global commit left, after the grace period and not before; live people keep every row', async () => {
    const people = await livePeople(test, databases, 'no');
    const resident = await registerMover(test, 'resident');
    expectOk(await resident.browser.request('POST', '/api/v2/federation/moves', { to: 'no' }), 201);
    people.push(resident);
    const rowsOf = async (person: Mover) => ({ main: await personRows(db(), db(), 'main', person.profileId), no: await personRows(db(), direct, 'no', person.profileId) });
    const before = await Promise.all(people.map(rowsOf));
    for (const rows of before.slice(0, 2)) expect(rows.no).toMatchObject({ residents: 1, recovery_codes: 2, persona_wallet_keys: 1, appeal_statements: 1, session_labels: 1, account_emails: 1 });
    expect(before[2]!.no).toMatchObject({ residents: 1, account_emails: 1, password_credentials: 1, session_labels: 1 });

    const ghost = newGhost();
    await crashAfterRemoteWrites(ghost);
    const written = Date.now();
    expect(await ghostRows(direct, 'no', ghost)).toEqual(every(1));
    expect(await db().selectFrom('accounts').select('id').where('id', '=', ghost.accountId).execute()).toEqual([]);

    const { sweeper, at } = sweepAtMoments(db(), databases);
    at(written);
    await sweeper.sweep();
    at(written + 5 * MINUTE);
    await sweeper.sweep();
    expect(await ghostRows(direct, 'no', ghost)).toEqual(every(1));

    at(written + 11 * MINUTE);
    const report = await sweeper.sweep();
    expect(await ghostRows(direct, 'no', ghost)).toEqual(every(0));
    for (const table of TABLES) expect(report.deleted[table], table).toBeGreaterThanOrEqual(1);
    expect(await Promise.all(people.map(rowsOf))).toEqual(before);
  });

  it("keeps a browser's identification its pointer names there, and a row whose pointer arrived after the sweep first saw it", async () => {
    const person = await registerMover(test, 'identified');
    expectOk(await person.browser.request('POST', '/api/v2/federation/moves', { to: 'no' }), 201);
    expect((await person.browser.request('POST', '/identity-link', { identityData: { name: 'Liv Ullmann' }, consent: true })).statusCode).toBe(201);
    const remote = direct.withSchema('territory_no') as unknown as Kysely<TerritoryDatabase>;
    const held = async () => (await remote.selectFrom('sealed_identity_links').select('lookup_key').execute()).map((row) => Buffer.from(row.lookup_key).toString('hex')).sort();
    // A row whose pointer is not committed yet when the sweep first sees it (a put in flight).
    const arriving = randomBytes(32);
    await remote.insertInto('sealed_identity_links').values({ lookup_key: arriving, sealed: randomBytes(64) }).execute();
    const { sweeper, at } = sweepAtMoments(db(), databases);
    const start = Date.now();
    at(start);
    await sweeper.sweep();
    await db().insertInto('identity_links').values({ lookup_key: arriving, territory_code: 'no' }).execute();
    const before = await held();
    expect(before).toContain(arriving.toString('hex'));
    at(start + 11 * MINUTE);
    await sweeper.sweep();
    at(start + 22 * MINUTE);
    await sweeper.sweep();
    expect(await held()).toEqual(before);
    expect((await person.browser.request('GET', '/identity-link')).json().identityData).toEqual({ name: 'Liv Ullmann' });
  });

  it('sweeps the territories it reaches when one is unreachable, and names that one', async () => {
    const ghost = newGhost();
    await writeGhostRows(db().withSchema('territory_main') as unknown as Kysely<TerritoryDatabase>, ghost);
    const unreachable = openTerritoryDatabases(db(), { no: 'postgres://root@127.0.0.1:1/nowhere' });
    try {
      const failures: string[] = [];
      const sweeper = createOrphanSweeper({
        orphans: createOrphanRepository(db(), unreachable),
        clock: { now: () => new Date(Date.now() + 60 * MINUTE) },
        graceSeconds: GRACE_SECONDS,
        failedTerritory: (code) => failures.push(code),
      });
      const report = await sweeper.sweep();
      expect(report.failed).toEqual(['no']);
      expect(failures).toEqual(['no']);
      expect((await ghostRows(db(), 'main', ghost)).account_emails).toBe(0);
    } finally {
      await unreachable.close();
    }
  });
});

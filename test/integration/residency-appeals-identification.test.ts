import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveTokenKeys } from '../../src/crypto/token-derived-keys.js';
import { IDENTITY_LINK_PURPOSE } from '../../src/modules/identification/identification.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, newPerson, SESSION_COOKIE } from '../support/browser.js';
import { createTerritory, expectOk, registerMover } from '../support/moves.js';
import { territoryDb } from '../support/territory-db.js';

/**
 * Residency of appeal statements and voluntary identification (migration 0012): the person's own
 * words and their identity data live in a territory schema, never in a global cell, and every view
 * (trust & safety's queue, the person's own identification) still reads them, after moves too.
 */

let test: TestApp;
const OTHER = 'ra';

beforeAll(async () => {
  test = await startTestApp();
  await createTerritory(test, OTHER);
});
afterAll(() => test.close());

const db = () => test.database.db;
const admin = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
  test.app.inject({ method, url, headers: test.adminHeaders, ...(payload ? { payload } : {}) });

/** Every cell of every global table, as text: where personal data must not be. */
async function globalCells(): Promise<string[]> {
  const columns = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns where table_schema = 'public'`.execute(db());
  const cells: string[] = [];
  for (const { table_name: table, column_name: column } of columns.rows) {
    const rows = await sql<{ text: string | null }>`select ${sql.ref(column)}::text as text from ${sql.table(table)}`.execute(db());
    for (const row of rows.rows) if (row.text !== null) cells.push(`${table}.${column}=${row.text}`);
  }
  return cells;
}

const statementsIn = async (code: string, appealId: string) =>
  (await territoryDb(db(), code).selectFrom('appeal_statements').select(['statement', 'accountability_profile_id']).where('appeal_id', '=', appealId).execute());

async function personaOf(profileId: string): Promise<string> {
  const row = await db().selectFrom('personas').select('id').where('accountability_profile_id', '=', profileId).orderBy('created_at').executeTakeFirstOrThrow();
  return row.id;
}

async function openAppeal(personaId: string, statement: string): Promise<string> {
  const response = await admin('POST', '/admin/appeals', { personaId, statement });
  expect(response.statusCode, response.body).toBe(201);
  expect(response.json().appeal.statement).toBe(statement);
  return response.json().appeal.id;
}

/** A person registered straight into `territory` in a fresh browser. */
async function registerIn(territory: string, tag: string): Promise<{ browser: Browser; profileId: string }> {
  const browser = new Browser(test.app);
  const registered = await browser.request('POST', '/auth/register', { ...newPerson(tag), territory });
  expect(registered.statusCode, registered.body).toBe(201);
  const row = await db().selectFrom('personas').select('accountability_profile_id').where('id', '=', registered.json().personaId).executeTakeFirstOrThrow();
  return { browser, profileId: row.accountability_profile_id };
}

describe("an appeal's statement", () => {
  it("lives in its person's territory only, and the queue, the person view and the resolution read it there", async () => {
    const home = await registerMover(test, 'appeal-main');
    const away = await registerIn(OTHER, 'appeal-away');
    const words = { home: `home words ${Date.now()}`, away: `away words ${Date.now()}` };
    const homeAppeal = await openAppeal(await personaOf(home.profileId), words.home);
    const awayAppeal = await openAppeal(await personaOf(away.profileId), words.away);

    expect(await statementsIn('main', homeAppeal)).toEqual([{ statement: words.home, accountability_profile_id: home.profileId }]);
    expect(await statementsIn(OTHER, homeAppeal)).toEqual([]);
    expect(await statementsIn(OTHER, awayAppeal)).toEqual([{ statement: words.away, accountability_profile_id: away.profileId }]);
    expect(await statementsIn('main', awayAppeal)).toEqual([]);
    const cells = await globalCells();
    expect(cells.length).toBeGreaterThan(100); // control: the scan reads the global schema
    expect(cells.filter((cell) => cell.includes(words.home) || cell.includes(words.away))).toEqual([]);

    // One list, two territories: each statement read from where its person lives.
    const queue = (await admin('GET', '/admin/appeals?status=open&limit=999')).json().appeals as Array<{ id: string; statement: string | null }>;
    expect(queue.find((appeal) => appeal.id === homeAppeal)?.statement).toBe(words.home);
    expect(queue.find((appeal) => appeal.id === awayAppeal)?.statement).toBe(words.away);
    const person = (await admin('GET', `/admin/people/${away.profileId}`)).json().person;
    expect(person.openAppeals.map((appeal: { statement: string }) => appeal.statement)).toEqual([words.away]);
    const resolved = await admin('POST', `/admin/appeals/${awayAppeal}/resolve`, { status: 'upheld', resolution: 'reviewed' });
    expect(resolved.statusCode, resolved.body).toBe(200);
    expect(resolved.json().appeal).toMatchObject({ status: 'upheld', statement: words.away });
  });

  it("moves with its person, and identity erasure deletes it (the appeal stays, with no statement)", async () => {
    const mover = await registerMover(test, 'appeal-mover');
    const words = `moving words ${Date.now()}`;
    const appealId = await openAppeal(await personaOf(mover.profileId), words);
    expectOk(await mover.browser.request('POST', '/api/v2/federation/moves', { to: OTHER }), 201);
    expect(await statementsIn(OTHER, appealId)).toEqual([{ statement: words, accountability_profile_id: mover.profileId }]);
    expect(await statementsIn('main', appealId)).toEqual([]);
    const before = (await admin('GET', `/admin/people/${mover.profileId}`)).json().person.openAppeals;
    expect(before.map((appeal: { statement: string }) => appeal.statement)).toEqual([words]);

    const erased = await mover.browser.request('DELETE', '/api/v2/auth/identity');
    expect(erased.statusCode, erased.body).toBe(200);
    expect(await statementsIn(OTHER, appealId)).toEqual([]);
    expect(await statementsIn('main', appealId)).toEqual([]);
    const after = (await admin('GET', '/admin/appeals?status=open&limit=999')).json().appeals.find((appeal: { id: string }) => appeal.id === appealId);
    expect(after).toMatchObject({ id: appealId, status: 'open', statement: null });
  });

  it("follows a guest brought along into the person's territory", async () => {
    const guestBrowser = new Browser(test.app);
    const guest = await guestBrowser.request('POST', '/api/v2/auth/authenticate', { strategy: 'guest' });
    expect(guest.statusCode, guest.body).toBe(200);
    const guestPersona = guest.json().profiles[0].id as string;
    const words = `guest words ${Date.now()}`;
    const appealId = await openAppeal(guestPersona, words);
    expect(await statementsIn('main', appealId)).toHaveLength(1);

    const person = await registerIn(OTHER, 'appeal-merge');
    const linked = await test.app.inject({
      method: 'POST',
      url: '/api/v2/auth/link-accounts',
      payload: { targetType: 'guest' },
      headers: { cookie: `${SESSION_COOKIE}=${person.browser.sessionCookie}; anon_id=${guestBrowser.anonCookie}` },
    });
    expect(linked.statusCode, linked.body).toBe(200);
    expect(await statementsIn('main', appealId)).toEqual([]);
    expect(await statementsIn(OTHER, appealId)).toEqual([{ statement: words, accountability_profile_id: person.profileId }]);
    const view = (await admin('GET', `/admin/people/${person.profileId}`)).json().person;
    expect(view.openAppeals.map((appeal: { statement: string }) => appeal.statement)).toEqual([words]);
  });
});

describe('voluntary identification', () => {
  const data = (name: string) => ({ identityData: { name, email: `${name.replace(/\W/g, '')}@example.org` }, consent: true });
  const keyOf = (browser: Browser) => deriveTokenKeys(browser.anonToken, IDENTITY_LINK_PURPOSE).lookupKey;
  const whereIs = async (browser: Browser) => {
    const lookupKey = keyOf(browser);
    const pointer = await db().selectFrom('identity_links').select('territory_code').where('lookup_key', '=', lookupKey).executeTakeFirst();
    const held: string[] = [];
    for (const code of ['main', OTHER]) {
      const rows = await territoryDb(db(), code).selectFrom('sealed_identity_links').select('lookup_key').where('lookup_key', '=', lookupKey).execute();
      if (rows.length > 0) held.push(code);
    }
    return { pointer: pointer?.territory_code ?? null, held };
  };

  it('is kept in the default territory for a visitor who is nobody yet, and in the territory of the signed-in person', async () => {
    const visitor = new Browser(test.app);
    expect((await visitor.request('POST', '/identity-link', data('Ada Lovelace'))).statusCode).toBe(201);
    expect(await whereIs(visitor)).toEqual({ pointer: 'main', held: ['main'] });

    const away = await registerIn(OTHER, 'ident-away');
    expect((await away.browser.request('POST', '/identity-link', data('Grace Hopper'))).statusCode).toBe(201);
    expect(await whereIs(away.browser)).toEqual({ pointer: OTHER, held: [OTHER] });
    expect((await away.browser.request('GET', '/identity-link')).json().identityData.name).toBe('Grace Hopper');
    // Signed out, the browser acts as nobody: the row stays in the person's territory.
    expect((await away.browser.request('POST', '/auth/logout')).statusCode).toBeLessThan(300);
    expect((await away.browser.request('GET', '/identity-link')).json().identityData.name).toBe('Grace Hopper');
    expect(await whereIs(away.browser)).toEqual({ pointer: OTHER, held: [OTHER] });
    const cells = await globalCells();
    expect(cells.filter((cell) => /Ada Lovelace|Grace Hopper|AdaLovelace|GraceHopper/.test(cell))).toEqual([]);

    const deleted = await away.browser.request('DELETE', '/identity-link');
    expect(deleted.json().deleted).toBe(true);
    expect(await whereIs(away.browser)).toEqual({ pointer: null, held: [] });
  });

  it("follows the browser into the territory of the person it signs in as, re-keyed to the new token", async () => {
    const person = newPerson('ident-signin');
    const registering = new Browser(test.app);
    expect((await registering.request('POST', '/auth/register', { ...person, territory: OTHER })).statusCode).toBe(201);

    const browser = new Browser(test.app);
    expect((await browser.request('POST', '/identity-link', data('Katherine Johnson'))).statusCode).toBe(201);
    const before = await whereIs(browser);
    expect(before).toEqual({ pointer: 'main', held: ['main'] });
    const oldKey = keyOf(browser);
    expect((await browser.login(person)).statusCode).toBe(200);
    expect(await whereIs(browser)).toEqual({ pointer: OTHER, held: [OTHER] });
    const left = await territoryDb(db()).selectFrom('sealed_identity_links').select('lookup_key').where('lookup_key', '=', oldKey).execute();
    expect(left).toEqual([]);
    expect((await browser.request('GET', '/identity-link')).json().identityData.name).toBe('Katherine Johnson');
  });

  it('follows a territory move asked for from its browser at once', async () => {
    const mover = await registerMover(test, 'ident-mover');
    expect((await mover.browser.request('POST', '/identity-link', data('Dorothy Vaughan'))).statusCode).toBe(201);
    expect(await whereIs(mover.browser)).toEqual({ pointer: 'main', held: ['main'] });
    expectOk(await mover.browser.request('POST', '/api/v2/federation/moves', { to: OTHER }), 201);
    expect(await whereIs(mover.browser)).toEqual({ pointer: OTHER, held: [OTHER] });
    expect((await mover.browser.request('GET', '/identity-link')).json().identityData.name).toBe('Dorothy Vaughan');
  });

  it('follows a move asked for elsewhere the next time its browser reads it', async () => {
    const mover = await registerMover(test, 'ident-elsewhere');
    expect((await mover.browser.request('POST', '/identity-link', data('Mary Jackson'))).statusCode).toBe(201);
    // The move comes from a client with the session only (another device's view of it): the saga
    // cannot see whose the row is (spec 000), so it stays until this browser shows its token again.
    const moved = await test.app.inject({
      method: 'POST',
      url: '/api/v2/federation/moves',
      payload: { to: OTHER },
      headers: { cookie: `${SESSION_COOKIE}=${mover.browser.sessionCookie}` },
    });
    expectOk(moved, 201);
    expect(await whereIs(mover.browser)).toEqual({ pointer: 'main', held: ['main'] });
    const read = await mover.browser.request('GET', '/identity-link');
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json().identityData.name).toBe('Mary Jackson');
    expect(await whereIs(mover.browser)).toEqual({ pointer: OTHER, held: [OTHER] });
  });
});

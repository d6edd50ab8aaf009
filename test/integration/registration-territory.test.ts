import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser, newPerson } from '../support/browser.js';
import { createTerritory, expectOk } from '../support/moves.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
  await createTerritory(test, 'dk');
  await createTerritory(test, 'iv', { inviteOnly: true });
  await createTerritory(test, 'shut');
  expectOk(await test.app.inject({ method: 'PATCH', url: '/admin/territories/shut', headers: test.adminHeaders, payload: { status: 'closed' } }));
});
afterAll(() => test.close());

const register = (payload: Record<string, unknown>) => new Browser(test.app).request('POST', '/auth/register', payload);
const countOf = async (table: 'accounts' | 'citizenships' | 'invitation_uses') =>
  Number((await test.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
const counts = async () => ({ accounts: await countOf('accounts'), citizenships: await countOf('citizenships'), uses: await countOf('invitation_uses') });
const invite = async (payload: Record<string, unknown>) => {
  const response = await test.app.inject({ method: 'POST', url: '/admin/invitations', headers: test.adminHeaders, payload: { territory: 'iv', ...payload } });
  expectOk(response, 201);
  return (response.json() as { token: string }).token;
};
const primaryOf = async (browser: Browser) => {
  const answer = await browser.request('GET', '/api/v2/federation/citizenships');
  expectOk(answer);
  return (answer.json().citizenships as Array<{ territory: { code: string }; primary: boolean }>).filter((c) => c.primary).map((c) => c.territory.code);
};

describe('registering into a territory', () => {
  it('settles the person there: primary citizenship, a resident row in its schema, recovery codes kept there', async () => {
    const browser = new Browser(test.app);
    const handle = `dk_${Date.now().toString(36)}`;
    const response = await browser.request('POST', '/auth/register', { handle, password: newPerson().password, initialDisplayName: 'Dane One', territory: 'dk' });
    expectOk(response, 201);
    expect(response.json().recoveryCodes).toHaveLength(10);
    expect(await primaryOf(browser)).toEqual(['dk']);
    const residents = await sql<{ n: number }>`select count(*)::int as n from territory_dk.residents where is_active`.execute(test.database.db);
    expect(residents.rows[0]!.n).toBe(1);
    const codes = await sql<{ dk: number; main: number }>`
      select (select count(*)::int from territory_dk.recovery_codes) as dk, (select count(*)::int from territory_main.recovery_codes) as main`.execute(test.database.db);
    expect(codes.rows[0]).toEqual({ dk: 10, main: 0 });
    // The address derives from the territory the person lives in.
    const identity = await test.app.inject({ method: 'GET', url: `/identities/${handle}` });
    expect(identity.json().identity).toMatchObject({ address: `${handle}@dk` });
  });

  it('without a territory, lives in the default one with no row at all (as before)', async () => {
    const before = await counts();
    const browser = new Browser(test.app);
    expectOk(await browser.register(newPerson('home')), 201);
    expect(await primaryOf(browser)).toEqual(['main']);
    expect((await counts()).citizenships).toBe(before.citizenships);
  });

  it('refuses an unknown or closed territory, and an invite-only one without an invitation, creating nothing', async () => {
    const before = await counts();
    for (const [territory, code, status] of [['zz', 'TERRITORY_NOT_FOUND', 404], ['shut', 'TERRITORY_CLOSED', 409], ['iv', 'INVITATION_REQUIRED', 403]] as const) {
      const response = await register({ ...newPerson('refused'), territory });
      expect(response.statusCode, territory).toBe(status);
      expect(response.json().code).toBe(code);
    }
    expect((await register({ ...newPerson('refused'), territory: 'Not A Code' })).json().code).toBe('VALIDATION_FAILED');
    expect(await counts()).toEqual(before);
  });

  it('redeems an invitation for an invited address only; a refused one consumes nothing and creates nothing', async () => {
    const invited = newPerson('invited');
    const token = await invite({ kind: 'single_use', email: invited.email });
    const before = await counts();
    const stranger = await register({ ...newPerson('stranger'), territory: 'iv', invitation: token });
    expect(stranger.json().code).toBe('INVITATION_MISMATCH');
    expect((await register({ ...newPerson('stranger'), territory: 'iv', invitation: 'no-such-token' })).json().code).toBe('INVITATION_INVALID');
    expect(await counts()).toEqual(before);

    const browser = new Browser(test.app);
    expectOk(await browser.request('POST', '/auth/register', { ...invited, territory: 'iv', invitation: token }), 201);
    expect(await primaryOf(browser)).toEqual(['iv']);
    expect(await counts()).toEqual({ accounts: before.accounts + 1, citizenships: before.citizenships + 1, uses: before.uses + 1 });
    expect((await register({ ...newPerson('late'), territory: 'iv', invitation: token })).json().code).toBe('INVITATION_USED_UP');
  });

  it('lets exactly maxUses of many parallel registrations through one group invitation', async () => {
    const token = await invite({ kind: 'group', maxUses: 3 });
    const before = await counts();
    const answers = await Promise.all(Array.from({ length: 12 }, () => register({ ...newPerson('crowd'), territory: 'iv', invitation: token })));
    const statuses = answers.map((answer) => (answer.statusCode === 201 ? 'ok' : answer.json().code)).sort();
    expect(statuses.filter((status) => status === 'ok')).toHaveLength(3);
    expect(statuses.filter((status) => status !== 'ok')).toEqual(Array(9).fill('INVITATION_USED_UP'));
    expect(await counts()).toEqual({ accounts: before.accounts + 3, citizenships: before.citizenships + 3, uses: before.uses + 3 });
  });

  it('loses its territory rows with the identity: recovery codes gone, resident records deactivated, in every territory', async () => {
    const codesIn = async (schema: 'territory_main' | 'territory_dk') =>
      (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`${schema}.recovery_codes`)}`.execute(test.database.db)).rows[0]!.n;
    const activeResidents = async () => (await sql<{ n: number }>`select count(*)::int as n from territory_dk.residents where is_active`.execute(test.database.db)).rows[0]!.n;
    const password = newPerson().password;
    const home = new Browser(test.app);
    expectOk(await home.request('POST', '/auth/register', { handle: `gone_${Date.now().toString(36)}`, password, initialDisplayName: 'Gone Home' }), 201);
    const dane = new Browser(test.app);
    expectOk(await dane.request('POST', '/auth/register', { handle: `gonedk_${Date.now().toString(36)}`, password, initialDisplayName: 'Gone Dane', territory: 'dk' }), 201);
    const before = { main: await codesIn('territory_main'), dk: await codesIn('territory_dk'), residents: await activeResidents() };
    expectOk(await home.request('DELETE', '/api/v2/auth/identity'));
    expectOk(await dane.request('DELETE', '/api/v2/auth/identity'));
    expect({ main: await codesIn('territory_main'), dk: await codesIn('territory_dk'), residents: await activeResidents() }).toEqual({
      main: before.main - 10,
      dk: before.dk - 10,
      residents: before.residents - 1,
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';
import { addRecoveryCodes, createTerritory, expectOk, handleOf, registerMover, residencyOf, setMoveCooldown, staleSessions, traceOf } from '../support/moves.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
  await createTerritory(test, 'dk');
  await createTerritory(test, 'se');
  await createTerritory(test, 'iv', { inviteOnly: true });
  await createTerritory(test, 'shut');
  expectOk(await test.app.inject({ method: 'PATCH', url: '/admin/territories/shut', headers: test.adminHeaders, payload: { status: 'closed' } }));
});
afterAll(() => test.close());

const CODES = ['main', 'dk', 'se'];
const residency = (mover: { profileId: string; accountId: string }) => residencyOf(test.database.db, () => test.database.db, mover, CODES);

describe('citizenships', () => {
  it('a guest and a person who never moved live in the default territory', async () => {
    const guest = new Visitor(test.app);
    await guest.start();
    const answer = await guest.request('GET', '/api/v2/federation/citizenships');
    expectOk(answer);
    expect(answer.json().citizenships).toEqual([{ territory: { code: 'main', name: 'Main' }, primary: true, since: expect.any(String) }]);
    const nobody = await new Visitor(test.app).request('GET', '/api/v2/federation/citizenships');
    expect(nobody.json().code).toBe('SESSION_REQUIRED');
    expect((await guest.request('POST', '/api/v2/federation/moves', { to: 'dk' })).json().code).toBe('SESSION_REQUIRED');
  });
});

describe('a move into an invite-only territory', () => {
  it('takes a real invitation, consumes it with the move, and refuses it to the next person once used up', async () => {
    const created = await test.app.inject({
      method: 'POST', url: '/admin/invitations', headers: test.adminHeaders, payload: { territory: 'iv', kind: 'single_use' },
    });
    expectOk(created, 201);
    const { token } = created.json() as { token: string };
    const first = await registerMover(test, 'invited');
    const moved = await first.browser.request('POST', '/api/v2/federation/moves', { to: 'iv', invitation: token });
    expectOk(moved, 201);
    expect((await residencyOf(test.database.db, () => test.database.db, first, ['main', 'iv'])).primary).toEqual(['iv']);
    const second = await registerMover(test, 'uninvited');
    const refused = await second.browser.request('POST', '/api/v2/federation/moves', { to: 'iv', invitation: token });
    expect(refused.json().code).toBe('INVITATION_USED_UP');
    expect(await traceOf(test.database.db, second.profileId)).toEqual({ events: [], moveAudits: 0, moves: 0 });
    const uses = await test.database.db.selectFrom('invitation_uses').select(['purpose']).execute();
    expect(uses).toEqual([{ purpose: 'move' }]);
  });
});

describe('a move', () => {
  it('copies the person\'s rows, switches the primary citizenship, retires the old rows; handles keep their key hash and gain an alias', async () => {
    const mover = await registerMover(test);
    await addRecoveryCodes(test.database.db, 'main', mover.accountId, 5, 2);
    const before = await handleOf(test.database.db, mover.handle);
    const response = await mover.browser.request('POST', '/api/v2/federation/moves', { to: 'dk' });
    expectOk(response, 201);
    expect(response.json()).toMatchObject({
      move: { from: 'main', to: 'dk', dualCitizenship: false, step: 'done', finishedAt: expect.any(String) },
      citizenships: [{ territory: { code: 'dk', name: 'Territory dk' }, primary: true }],
    });
    const state = await residency(mover);
    expect(state).toMatchObject({ primary: ['dk'], secondary: [], recoveryCodes: { main: 0, dk: 5, se: 0 }, usedCodes: { dk: 2 }, openMoves: 0 });
    expect(state.residents.dk).toEqual([{ id: expect.any(String), active: true }]);
    expect(state.residents.main).toEqual([{ id: expect.any(String), active: false }]);
    expect(await handleOf(test.database.db, mover.handle)).toEqual({ publicKeyHash: before.publicKeyHash, aliases: ['main'] });
    expect(await traceOf(test.database.db, mover.profileId)).toEqual({ events: ['PersonaMoved'], moveAudits: 1, moves: 1 });
    // The person's resident id in the global row is the one in the territory.
    const citizenship = await test.database.db.selectFrom('citizenships').select('territory_user_id').where('accountability_profile_id', '=', mover.profileId).where('is_primary', '=', true).executeTakeFirstOrThrow();
    expect(citizenship.territory_user_id).toBe(state.residents.dk![0]!.id);
  });

  it('refuses: closed, unknown, already there, cooldown (429 with Retry-After), invite-only without an invitation; changing nothing', async () => {
    const mover = await registerMover(test);
    const move = (payload: Record<string, unknown>) => mover.browser.request('POST', '/api/v2/federation/moves', payload);
    expect((await move({ to: 'shut' })).json().code).toBe('TERRITORY_CLOSED');
    expect((await move({ to: 'zz' })).json().code).toBe('TERRITORY_NOT_FOUND');
    expect((await move({ to: 'main' })).json().code).toBe('ALREADY_CITIZEN');
    const invite = await move({ to: 'iv' });
    expect(invite.statusCode).toBe(403);
    expect(invite.json().code).toBe('INVITATION_REQUIRED');
    expect((await move({ to: 'iv', invitation: 'not-a-real-token' })).json().code).toBe('INVITATION_INVALID');
    expect((await move({ to: 'dk', extra: 1 })).json().code).toBe('VALIDATION_FAILED');
    expect(await traceOf(test.database.db, mover.profileId)).toEqual({ events: [], moveAudits: 0, moves: 0 });
    expectOk(await move({ to: 'dk' }), 201);
    expect((await move({ to: 'dk' })).json().code).toBe('ALREADY_CITIZEN');
    const cooldown = await move({ to: 'se' });
    expect(cooldown.statusCode).toBe(429);
    expect(cooldown.json().code).toBe('MOVE_COOLDOWN');
    expect(Number(cooldown.headers['retry-after'])).toBeGreaterThan(29 * 86_400);
    expect((await residency(mover)).primary).toEqual(['dk']);
  });

  it('needs a fresh sign-in', async () => {
    const mover = await registerMover(test);
    await staleSessions(test.database.db, mover.profileId);
    const response = await mover.browser.request('POST', '/api/v2/federation/moves', { to: 'dk' });
    expect(response.statusCode).toBe(403);
    expect(response.json().code).toBe('STEP_UP_REQUIRED');
    expect((await residency(mover)).primary).toEqual([]);
  });

  it('with dual citizenship keeps the old one as secondary; ending it retires the rows there, audited; the primary cannot be ended', async () => {
    const mover = await registerMover(test);
    await addRecoveryCodes(test.database.db, 'main', mover.accountId, 3);
    expectOk(await mover.browser.request('POST', '/api/v2/federation/moves', { to: 'dk', dualCitizenship: true }), 201);
    let state = await residency(mover);
    expect(state).toMatchObject({ primary: ['dk'], secondary: ['main'], recoveryCodes: { main: 3, dk: 3 } });
    expect(state.residents.main).toEqual([{ id: expect.any(String), active: true }]);
    const listed = (await mover.browser.request('GET', '/api/v2/federation/citizenships')).json().citizenships;
    expect(listed.map((c: { territory: { code: string }; primary: boolean }) => [c.territory.code, c.primary])).toEqual([['dk', true], ['main', false]]);

    const end = (code: string) => mover.browser.request('DELETE', `/api/v2/federation/citizenships/${code}`);
    const primary = await end('dk');
    expect(primary.statusCode).toBe(409);
    expect(primary.json().code).toBe('PRIMARY_CITIZENSHIP');
    const missing = await end('se');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('CITIZENSHIP_NOT_FOUND');
    const ended = await end('main');
    expectOk(ended);
    expect(ended.json().citizenships).toEqual([{ territory: { code: 'dk', name: 'Territory dk' }, primary: true, since: expect.any(String) }]);
    state = await residency(mover);
    expect(state).toMatchObject({ primary: ['dk'], secondary: [], recoveryCodes: { main: 0, dk: 3 } });
    expect(state.residents.main).toEqual([{ id: expect.any(String), active: false }]);
    expect(await traceOf(test.database.db, mover.profileId)).toMatchObject({ events: ['PersonaMoved', 'CitizenshipEnded'], moveAudits: 1 });
    const audit = await test.database.db.selectFrom('audit_log').select('target').where('action', '=', 'citizenship.end').where('correlation_id', '=', ended.json().correlationId).execute();
    expect(audit).toEqual([{ target: 'main' }]);
    expect((await end('main')).json().code).toBe('CITIZENSHIP_NOT_FOUND');
  });

  it('back to a territory the person left: its alias goes, the old resident row stays retired, a new one is active', async () => {
    await setMoveCooldown(test, 0);
    try {
      const mover = await registerMover(test);
      expectOk(await mover.browser.request('POST', '/api/v2/federation/moves', { to: 'dk' }), 201);
      expectOk(await mover.browser.request('POST', '/api/v2/federation/moves', { to: 'main' }), 201);
      const state = await residency(mover);
      expect(state.primary).toEqual(['main']);
      expect(state.residents.main!.map((row) => row.active)).toEqual([false, true]);
      expect(state.residents.dk!.map((row) => row.active)).toEqual([false]);
      expect((await handleOf(test.database.db, mover.handle)).aliases).toEqual(['dk']);
      expect(await traceOf(test.database.db, mover.profileId)).toEqual({ events: ['PersonaMoved', 'PersonaMoved'], moveAudits: 2, moves: 2 });

      // Home to a territory kept as a secondary citizenship: it is promoted, its resident row reused.
      const dual = await registerMover(test);
      await addRecoveryCodes(test.database.db, 'main', dual.accountId, 2);
      expectOk(await dual.browser.request('POST', '/api/v2/federation/moves', { to: 'dk', dualCitizenship: true }), 201);
      const kept = (await residency(dual)).residents.main;
      expectOk(await dual.browser.request('POST', '/api/v2/federation/moves', { to: 'main' }), 201);
      const home = await residency(dual);
      expect(home).toMatchObject({ primary: ['main'], secondary: [], recoveryCodes: { main: 2, dk: 0 } });
      expect(home.residents.main).toEqual(kept);
      expect(home.residents.dk!.map((row) => row.active)).toEqual([false]);
    } finally {
      await setMoveCooldown(test, 30);
    }
  });

  it('of parallel move requests of one person exactly one moves them', async () => {
    const mover = await registerMover(test);
    const responses = await Promise.all(['dk', 'se', 'dk', 'se'].map((to) => mover.browser.request('POST', '/api/v2/federation/moves', { to })));
    const moved = responses.filter((response) => response.statusCode === 201);
    expect(moved).toHaveLength(1);
    for (const refused of responses.filter((response) => response.statusCode !== 201)) {
      expect(['MOVE_IN_PROGRESS', 'MOVE_COOLDOWN', 'ALREADY_CITIZEN']).toContain(refused.json().code);
    }
    const state = await residency(mover);
    expect(state.primary).toEqual([moved[0]!.json().move.to]);
    expect(state.openMoves).toBe(0);
    expect(await traceOf(test.database.db, mover.profileId)).toEqual({ events: ['PersonaMoved'], moveAudits: 1, moves: 1 });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tx } from '../../src/db/database.js';
import { openTerritoryDatabases, type TerritoryDatabases } from '../../src/db/territory-databases.js';
import { systemClock } from '../../src/clock.js';
import { AppError } from '../../src/errors.js';
import type { MoveStep } from '../../src/modules/citizenships/citizenship.js';
import { createMoveRepository } from '../../src/modules/citizenships/move-repository.js';
import { createMoveService, type InvitationRedeemer } from '../../src/modules/citizenships/move-service.js';
import { createTerritoryRowsRepository } from '../../src/modules/citizenships/territory-rows-repository.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { addRecoveryCodes, createTerritory, expectOk, handleOf, registerMover, residencyOf, traceOf, type Mover } from '../support/moves.js';

/**
 * The saga crashed after each of its steps: a move service whose `afterStep` throws stands for a
 * node that died there; the app (another instance, as after a restart) then resumes the move.
 */
let test: TestApp;
let databases: TerritoryDatabases;
beforeAll(async () => {
  test = await startTestApp();
  await createTerritory(test, 'dk');
  await createTerritory(test, 'iv', { inviteOnly: true });
  databases = openTerritoryDatabases(test.database.db, {});
});
afterAll(async () => {
  await databases.close();
  await test.close();
});

const CODES = ['main', 'dk'];
const crash = new Error('crash');

function crashingService(at: MoveStep, invitations?: InvitationRedeemer) {
  return createMoveService({
    moves: createMoveRepository(test.database.db),
    rows: createTerritoryRowsRepository(test.database.db, databases),
    cooldownDays: async () => 30,
    clock: systemClock,
    invitations,
    afterStep: (step) => {
      if (step === at) throw crash;
    },
  });
}

async function expectConsistent(mover: Mover, dual: boolean, codes: number, keyHash: string) {
  const state = await residencyOf(test.database.db, () => test.database.db, mover, CODES);
  expect(state.primary).toEqual(['dk']);
  expect(state.secondary).toEqual(dual ? ['main'] : []);
  expect(state.openMoves).toBe(0);
  expect(state.residents.dk).toEqual([{ id: expect.any(String), active: true }]);
  expect(state.residents.main).toEqual([{ id: expect.any(String), active: dual }]);
  expect(state.recoveryCodes).toEqual({ main: dual ? codes : 0, dk: codes });
  expect(state.sessionLabels).toEqual({ main: dual ? 1 : 0, dk: 1 });
  expect(await handleOf(test.database.db, mover.handle)).toEqual({ publicKeyHash: keyHash, aliases: ['main'] });
  expect(await traceOf(test.database.db, mover.profileId)).toEqual({ events: ['PersonaMoved'], moveAudits: 1, moves: 1 });
}

describe('a move that crashes', () => {
  for (const at of ['started', 'copied', 'switched', 'done'] as const) {
    for (const dual of [false, true]) {
      it(`after "${at}"${dual ? ' (dual citizenship)' : ''} is finished by the resume, in one consistent state`, async () => {
        const mover = await registerMover(test, `crash${at}`);
        await addRecoveryCodes(test.database.db, 'main', mover.accountId, 4);
        const { publicKeyHash } = await handleOf(test.database.db, mover.handle);
        await expect(crashingService(at).move(mover.profileId, { to: 'dk', dualCitizenship: dual }, 'crash-test')).rejects.toBe(crash);
        const step = await test.database.db.selectFrom('territory_moves').select('step').where('accountability_profile_id', '=', mover.profileId).executeTakeFirstOrThrow();
        expect(step.step).toBe(at);
        // Two resumers at once (the person and the periodic job): still one move, one event.
        const [first, second] = await Promise.all([
          mover.browser.request('POST', '/api/v2/federation/moves/resume'),
          mover.browser.request('POST', '/api/v2/federation/moves/resume'),
        ]);
        expectOk(first);
        expectOk(second);
        await expectConsistent(mover, dual, 4, publicKeyHash);
        // Resuming again changes nothing.
        expect((await mover.browser.request('POST', '/api/v2/federation/moves/resume')).json().move).toBeNull();
        await expectConsistent(mover, dual, 4, publicKeyHash);
      });
    }
  }

  it('is also finished by the person\'s next move request (which then answers the cooldown)', async () => {
    const mover = await registerMover(test, 'nextreq');
    const { publicKeyHash } = await handleOf(test.database.db, mover.handle);
    await expect(crashingService('copied').move(mover.profileId, { to: 'dk', dualCitizenship: false }, 'crash-test')).rejects.toBe(crash);
    const next = await mover.browser.request('POST', '/api/v2/federation/moves', { to: 'main' });
    expect(next.json().code).toBe('MOVE_COOLDOWN');
    await expectConsistent(mover, false, 0, publicKeyHash);
  });

  it('is also finished by the periodic resumer of unfinished moves', async () => {
    const mover = await registerMover(test, 'periodic');
    const { publicKeyHash } = await handleOf(test.database.db, mover.handle);
    await expect(crashingService('started').move(mover.profileId, { to: 'dk', dualCitizenship: false }, 'crash-test')).rejects.toBe(crash);
    expect(await crashingService('never' as MoveStep).resumeStale(0)).toBeGreaterThanOrEqual(1);
    await expectConsistent(mover, false, 0, publicKeyHash);
  });

  it('never redeems its invitation twice: it is consumed with the migration record', async () => {
    const redeemed: string[] = [];
    // The invitations module implements this port; here a minimal one over the real tables.
    const redeemer: InvitationRedeemer = {
      async redeem(trx: Tx, input) {
        if (input.token !== 'good-token') throw new AppError('INVITATION_INVALID', 'No such invitation.');
        const invitation = await trx
          .insertInto('invitations')
          .values({ territory_code: input.territoryCode, token_hash: Buffer.from(input.token), kind: 'single_use', max_uses: 1, uses: 1, created_by_admin: 'test' })
          .returning('id')
          .executeTakeFirstOrThrow();
        await trx.insertInto('invitation_uses').values({ invitation_id: invitation.id, accountability_profile_id: input.accountabilityProfileId, purpose: input.purpose }).execute();
        redeemed.push(input.purpose);
        return { invitationId: invitation.id };
      },
    };
    const mover = await registerMover(test, 'invited');
    await expect(crashingService('never' as MoveStep, redeemer).move(mover.profileId, { to: 'iv', dualCitizenship: false, invitation: 'bad' }, 't')).rejects.toMatchObject({ code: 'INVITATION_INVALID' });
    expect(await traceOf(test.database.db, mover.profileId)).toMatchObject({ moves: 0 });
    await expect(crashingService('copied', redeemer).move(mover.profileId, { to: 'iv', dualCitizenship: false, invitation: 'good-token' }, 't')).rejects.toBe(crash);
    expectOk(await mover.browser.request('POST', '/api/v2/federation/moves/resume'));
    expect(redeemed).toEqual(['move']);
    const record = await test.database.db.selectFrom('territory_moves').select(['invitation_id', 'step']).where('accountability_profile_id', '=', mover.profileId).executeTakeFirstOrThrow();
    const uses = await test.database.db.selectFrom('invitation_uses').select('invitation_id').where('accountability_profile_id', '=', mover.profileId).execute();
    expect(uses).toEqual([{ invitation_id: record.invitation_id }]);
    expect(record.step).toBe('done');
  });
});

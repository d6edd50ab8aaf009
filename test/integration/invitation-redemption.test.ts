import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { AppError } from '../../src/errors.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import { composeFederation } from '../../src/federation-composition.js';
import { MemoryAttemptLimiter } from '../../src/rate-limit/attempt-limiter.js';
import { openLookupGate } from '../../src/rate-limit/open-lookup-gate.js';
import type { InvitationRedeemer } from '../../src/modules/invitations/invitation-service.js';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * The redemption port as registration and moves will call it: inside their own transaction, on the
 * real composition. Races run on PostgreSQL where the 50 transactions truly overlap (and on PGlite,
 * one after another).
 */
let test: TestApp;
let federation: ReturnType<typeof composeFederation>;
let redeemer: InvitationRedeemer;
/** The redeemer's clock: real time, moved ahead by `ahead` milliseconds. */
let ahead = 0;
const clock: Clock = { now: () => new Date(Date.now() + ahead) };

beforeAll(async () => {
  test = await startTestApp();
  federation = composeFederation({ config: test.config, db: test.database.db, clock, lookups: openLookupGate(new MemoryAttemptLimiter(clock), createMemoryInvalidationBus(), true) });
  redeemer = federation.invitationRedeemer;
  expect((await admin('/admin/territories', { code: 'no', name: 'Norway', inviteOnly: true })).statusCode).toBe(201);
});
afterAll(async () => {
  await federation.close();
  await test.close();
});

function admin(url: string, payload: object = {}) {
  return test.app.inject({ method: 'POST', url, headers: test.adminHeaders, payload });
}

async function invitation(terms: object): Promise<{ id: string; token: string }> {
  const response = await admin('/admin/invitations', { territory: 'no', ...terms });
  expect(response.statusCode, response.body).toBe(201);
  return { id: response.json().invitation.id, token: response.json().token };
}

/** Distinct people, as registration would have them by the time it redeems. */
async function people(count: number): Promise<string[]> {
  const rows = await test.database.db
    .insertInto('accountability_profiles')
    .values(Array.from({ length: count }, () => ({ abuse_score: 0 })))
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

type Input = Parameters<InvitationRedeemer['redeem']>[1];

/** One redemption in its own transaction: the invitation id, or the refusal's code. */
async function redeem(input: Partial<Input> & Pick<Input, 'token' | 'accountabilityProfileId'>): Promise<string> {
  try {
    const result = await test.database.db
      .transaction()
      .execute((trx) => redeemer.redeem(trx, { territoryCode: 'no', purpose: 'registration', ...input }));
    return result.invitationId;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

async function usesOf(id: string) {
  const row = await test.database.db.selectFrom('invitations').select('uses').where('id', '=', id).executeTakeFirstOrThrow();
  const rows = await test.database.db.selectFrom('invitation_uses').select(sql<number>`count(*)::int`.as('n')).where('invitation_id', '=', id).executeTakeFirstOrThrow();
  return { uses: row.uses, rows: rows.n };
}

describe('redeeming invitations', () => {
  it('of 50 parallel redemptions of a group invitation capped at 10, exactly 10 succeed; the rest are INVITATION_USED_UP', async () => {
    const group = await invitation({ kind: 'group', maxUses: 10 });
    const results = await Promise.all((await people(50)).map((id) => redeem({ token: group.token, accountabilityProfileId: id })));
    expect(results.filter((result) => result === group.id)).toHaveLength(10);
    expect(results.filter((result) => result === 'INVITATION_USED_UP')).toHaveLength(40);
    expect(await usesOf(group.id)).toEqual({ uses: 10, rows: 10 });
    const events = await test.database.db.selectFrom('outbox').select('payload').where('type', '=', 'InvitationRedeemed').execute();
    expect(events.filter((event) => (event.payload as { invitationId: string }).invitationId === group.id)).toHaveLength(10);
  }, 60_000);

  it('a single-use invitation is used once under 50 parallel redemptions', async () => {
    const single = await invitation({ kind: 'single_use' });
    const results = await Promise.all((await people(50)).map((id) => redeem({ token: single.token, accountabilityProfileId: id, purpose: 'move' })));
    expect(results.filter((result) => result === single.id)).toHaveLength(1);
    expect(results.filter((result) => result === 'INVITATION_USED_UP')).toHaveLength(49);
    expect(await usesOf(single.id)).toEqual({ uses: 1, rows: 1 });
  }, 60_000);

  it('an unlimited group invitation counts every person once', async () => {
    const open = await invitation({ kind: 'group' });
    const [first, second] = await people(2);
    expect(await redeem({ token: open.token, accountabilityProfileId: first! })).toBe(open.id);
    expect(await redeem({ token: open.token, accountabilityProfileId: second! })).toBe(open.id);
    expect(await redeem({ token: open.token, accountabilityProfileId: first! })).toBe('INVITATION_USED_UP');
    expect(await usesOf(open.id)).toEqual({ uses: 2, rows: 2 });
  });

  it('refuses an unknown, expired, revoked or other territory\'s token with its typed error, consuming nothing', async () => {
    const [someone] = await people(1);
    expect(await redeem({ token: 'A'.repeat(43), accountabilityProfileId: someone! })).toBe('INVITATION_INVALID');
    expect(await redeem({ token: 'not a token', accountabilityProfileId: someone! })).toBe('INVITATION_INVALID');

    const soon = await invitation({ kind: 'group', expiresAt: new Date(Date.now() + 60_000).toISOString() });
    ahead = 120_000;
    try {
      expect(await redeem({ token: soon.token, accountabilityProfileId: someone! })).toBe('INVITATION_EXPIRED');
    } finally {
      ahead = 0;
    }
    expect(await usesOf(soon.id)).toEqual({ uses: 0, rows: 0 });

    const withdrawn = await invitation({ kind: 'group' });
    expect((await admin(`/admin/invitations/${withdrawn.id}/revoke`)).statusCode).toBe(200);
    expect(await redeem({ token: withdrawn.token, accountabilityProfileId: someone! })).toBe('INVITATION_REVOKED');
    expect(await usesOf(withdrawn.id)).toEqual({ uses: 0, rows: 0 });

    const elsewhere = await invitation({ kind: 'single_use' });
    expect(await redeem({ token: elsewhere.token, accountabilityProfileId: someone!, territoryCode: 'main' })).toBe('INVITATION_MISMATCH');
    expect(await usesOf(elsewhere.id)).toEqual({ uses: 0, rows: 0 });
  });

  it('an invitation for an address or a handle is INVITATION_MISMATCH for anyone else, and works for them', async () => {
    const [someone, invitee] = await people(2);
    const forAddress = await invitation({ kind: 'single_use', email: 'Invitee@Example.org' });
    expect(await redeem({ token: forAddress.token, accountabilityProfileId: someone! })).toBe('INVITATION_MISMATCH');
    expect(await redeem({ token: forAddress.token, accountabilityProfileId: someone!, email: 'other@example.org' })).toBe('INVITATION_MISMATCH');
    expect(await usesOf(forAddress.id)).toEqual({ uses: 0, rows: 0 });
    expect(await redeem({ token: forAddress.token, accountabilityProfileId: invitee!, email: ' invitee@example.org ' })).toBe(forAddress.id);

    const forHandle = await invitation({ kind: 'group', handle: 'chosen_one' });
    expect(await redeem({ token: forHandle.token, accountabilityProfileId: someone!, handle: 'someone_else' })).toBe('INVITATION_MISMATCH');
    expect(await redeem({ token: forHandle.token, accountabilityProfileId: someone! })).toBe('INVITATION_MISMATCH');
    expect(await usesOf(forHandle.id)).toEqual({ uses: 0, rows: 0 });
    expect(await redeem({ token: forHandle.token, accountabilityProfileId: invitee!, handle: 'Chosen_One' })).toBe(forHandle.id);
  });

  it('shows the creator how often and on which days, never by whom', async () => {
    const group = await invitation({ kind: 'group' });
    for (const id of await people(2)) expect(await redeem({ token: group.token, accountabilityProfileId: id })).toBe(group.id);
    const uses = await test.app.inject({ method: 'GET', url: `/admin/invitations/${group.id}/uses`, headers: test.adminHeaders });
    const today = new Date().toISOString().slice(0, 10);
    expect(uses.json()).toMatchObject({ count: 2, usedOn: [expect.any(String), expect.any(String)] });
    for (const day of uses.json().usedOn as string[]) expect([today, new Date(Date.now() - 60_000).toISOString().slice(0, 10)]).toContain(day);
    const inspected = await test.app.inject({ method: 'POST', url: '/invitations/inspect', payload: { token: group.token } });
    expect(inspected.json()).toMatchObject({ territory: { code: 'no', name: 'Norway' }, usable: true });
  });
});

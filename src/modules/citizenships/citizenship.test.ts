import { describe, expect, it } from 'vitest';
import { cooldownLeftSeconds, moveRefusal, type MoveFacts } from './citizenship.js';

const now = new Date('2030-01-31T00:00:00Z');
const facts = (over: Partial<MoveFacts> = {}): MoveFacts => ({
  target: { code: 'dk', status: 'active', inviteOnly: false },
  current: 'main',
  lastMoveFinishedAt: null,
  cooldownDays: 30,
  hasInvitation: false,
  canRedeemInvitations: true,
  now,
  ...over,
});

describe('move rules', () => {
  it('counts the cooldown from the last finished move', () => {
    expect(cooldownLeftSeconds(null, 30, now)).toBe(0);
    expect(cooldownLeftSeconds(new Date('2030-01-01T00:00:00Z'), 30, now)).toBe(0);
    expect(cooldownLeftSeconds(new Date('2030-01-02T00:00:00Z'), 30, now)).toBe(86_400);
    expect(cooldownLeftSeconds(new Date('2030-01-30T00:00:00Z'), 0, now)).toBe(0);
  });

  it('refuses in the order a person can act on', () => {
    expect(moveRefusal(facts())).toBeNull();
    expect(moveRefusal(facts({ target: null }))?.code).toBe('TERRITORY_NOT_FOUND');
    expect(moveRefusal(facts({ target: { code: 'dk', status: 'closed', inviteOnly: false } }))?.code).toBe('TERRITORY_CLOSED');
    expect(moveRefusal(facts({ current: 'dk', lastMoveFinishedAt: now }))?.code).toBe('ALREADY_CITIZEN');
    const cooldown = moveRefusal(facts({ lastMoveFinishedAt: new Date('2030-01-30T00:00:00Z') }));
    expect(cooldown).toMatchObject({ code: 'MOVE_COOLDOWN', retryAfterSeconds: 29 * 86_400 });
    const inviteOnly = { code: 'dk', status: 'active' as const, inviteOnly: true };
    expect(moveRefusal(facts({ target: inviteOnly }))?.code).toBe('INVITATION_REQUIRED');
    expect(moveRefusal(facts({ target: inviteOnly, hasInvitation: true }))).toBeNull();
    expect(moveRefusal(facts({ target: inviteOnly, hasInvitation: true, canRedeemInvitations: false }))?.code).toBe('INVITATION_REQUIRED');
  });
});

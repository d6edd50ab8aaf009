import { describe, expect, it } from 'vitest';
import { TokenHasher } from '../../crypto/tokens.js';
import { DEFAULT_POLICIES } from '../policy/policy.js';
import { evaluate } from '../policy/evaluate.js';
import {
  dayOf,
  INVITE_ACTION,
  invitationTerms,
  invitationTokenHash,
  invitePolicies,
  inviteLink,
  inviteRefusal,
  unusableReason,
} from './invitation.js';

const now = new Date('2030-01-01T12:00:00Z');
const facts = { now, livePersonas: 0, recentCreations: [], lastRotationAt: null };

describe('invitation rules', () => {
  it('puts the token in the fragment of the share link, which browsers never send to a server', () => {
    expect(inviteLink('https://id.example/', 'abc')).toBe('https://id.example/invite#abc');
  });

  it('hashes tokens under the server key, apart from every other secret', () => {
    const hasher = new TokenHasher('k');
    expect(invitationTokenHash(hasher, 't')).toEqual(invitationTokenHash(new TokenHasher('k'), 't'));
    expect(invitationTokenHash(hasher, 't')).not.toEqual(invitationTokenHash(new TokenHasher('other'), 't'));
    expect(invitationTokenHash(hasher, 't')).not.toEqual(hasher.hash('challenge', 't'));
  });

  it('sets terms: single use is 1, a group unlimited unless capped, 30 days by default, at most a year', () => {
    expect(invitationTerms({ kind: 'single_use' }, now)).toEqual({ kind: 'single_use', maxUses: 1, expiresAt: new Date('2030-01-31T12:00:00Z') });
    expect(invitationTerms({ kind: 'group', maxUses: null }, now)).toMatchObject({ maxUses: null });
    expect(invitationTerms({ kind: 'group', maxUses: 5 }, now)).toMatchObject({ maxUses: 5 });
    expect(typeof invitationTerms({ kind: 'single_use', maxUses: 2 }, now)).toBe('string');
    expect(typeof invitationTerms({ kind: 'group', expiresAt: '2029-12-31T00:00:00Z' }, now)).toBe('string');
    expect(typeof invitationTerms({ kind: 'group', expiresAt: '2031-06-01T00:00:00Z' }, now)).toBe('string');
  });

  it('says why an invitation is unusable: revocation first, then expiry, then the cap', () => {
    const fresh = { maxUses: 2, uses: 0, expiresAt: new Date('2030-02-01T00:00:00Z'), revokedAt: null };
    expect(unusableReason(fresh, now)).toBeNull();
    expect(unusableReason({ ...fresh, uses: 2 }, now)).toBe('used-up');
    expect(unusableReason({ ...fresh, uses: 2, expiresAt: now }, now)).toBe('expired');
    expect(unusableReason({ ...fresh, uses: 2, expiresAt: now, revokedAt: now }, now)).toBe('revoked');
    expect(unusableReason({ ...fresh, maxUses: null, uses: 1_000 }, now)).toBeNull();
  });

  it('lets people invite into their own territories and open ones, nobody into a closed one', () => {
    const inviteOnly = { code: 'dk', status: 'active', inviteOnly: true } as const;
    expect(inviteRefusal(inviteOnly, ['dk'], false)).toBeNull();
    expect(inviteRefusal(inviteOnly, ['main'], false)).toBe('not-citizen');
    expect(inviteRefusal(inviteOnly, [], true)).toBeNull();
    expect(inviteRefusal({ ...inviteOnly, inviteOnly: false }, ['main'], false)).toBeNull();
    expect(inviteRefusal({ ...inviteOnly, status: 'closed' }, ['dk'], true)).toBe('closed');
  });

  it('asks min_trust_level_to_invite, and never lets a HIGH-risk person invite', () => {
    const policies = invitePolicies(DEFAULT_POLICIES);
    const person = { banned: false, riskLevel: 'LOW', trustLevel: 'REGULAR' } as const;
    expect(evaluate(person, INVITE_ACTION, policies, facts).allowed).toBe(true);
    expect(evaluate({ ...person, trustLevel: 'NEW' }, INVITE_ACTION, policies, facts)).toMatchObject({ code: 'TRUST_LEVEL_TOO_LOW' });
    expect(evaluate({ ...person, trustLevel: null }, INVITE_ACTION, policies, facts)).toMatchObject({ code: 'TRUST_LEVEL_TOO_LOW' });
    expect(evaluate({ ...person, riskLevel: 'HIGH', trustLevel: 'TRUSTED' }, INVITE_ACTION, policies, facts)).toMatchObject({ code: 'ACCOUNT_SUSPENDED' });
    expect(evaluate({ ...person, banned: true }, INVITE_ACTION, policies, facts)).toMatchObject({ code: 'BANNED' });
    const lowered = invitePolicies({ ...DEFAULT_POLICIES, min_trust_level_to_invite: 'NEW' });
    expect(evaluate({ ...person, trustLevel: 'NEW' }, INVITE_ACTION, lowered, facts).allowed).toBe(true);
  });

  it('gives the day of a use, never its time', () => {
    expect(dayOf(new Date('2030-01-01T23:59:59Z'))).toBe('2030-01-01');
  });
});

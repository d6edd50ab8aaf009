import { describe, expect, it } from 'vitest';
import { evaluate, meetsTrustLevel, riskLevelFor, type PolicyFacts, type PolicySubject } from './evaluate.js';
import { DEFAULT_POLICIES, effectivePolicies, policyValueProblems, type Policies } from './policy.js';

const NOW = new Date('2025-06-01T12:00:00Z');
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);

const person: PolicySubject = { banned: false, riskLevel: 'LOW', trustLevel: 'NEW' };
const facts: PolicyFacts = { now: NOW, livePersonas: 1, recentCreations: [], lastRotationAt: null };
const policies = (changes: Partial<Policies> = {}): Policies => ({ ...DEFAULT_POLICIES, ...changes });

describe('evaluate: persona creation', () => {
  it('allows a first creation under every default', () => {
    expect(evaluate(person, 'persona.create', policies(), facts)).toEqual({ allowed: true });
  });

  it('enforces the maximum of live personas per person (default 3)', () => {
    expect(evaluate(person, 'persona.create', policies(), { ...facts, livePersonas: 2 }).allowed).toBe(true);
    expect(evaluate(person, 'persona.create', policies(), { ...facts, livePersonas: 3 })).toMatchObject({
      allowed: false,
      code: 'PERSONA_LIMIT_REACHED',
    });
    expect(evaluate(person, 'persona.create', policies({ max_personas_per_user: 5 }), { ...facts, livePersonas: 4 }).allowed).toBe(true);
  });

  it('allows one creation per 7 days, and says when the next one is possible', () => {
    const created = daysAgo(2);
    const decision = evaluate(person, 'persona.create', policies(), { ...facts, recentCreations: [created] });
    expect(decision).toMatchObject({ allowed: false, code: 'PERSONA_RATE_LIMITED' });
    expect(!decision.allowed && decision.retryAfter).toEqual(new Date(created.getTime() + 7 * DAY));
    // A creation older than the window no longer counts.
    expect(evaluate(person, 'persona.create', policies(), { ...facts, recentCreations: [daysAgo(8)] }).allowed).toBe(true);
  });

  it('frees a slot when the oldest creation that counts leaves the window', () => {
    const limit = policies({ persona_creation_rate_limit: { count: 2, windowDays: 7 } });
    const recentCreations = [daysAgo(6), daysAgo(3), daysAgo(1)];
    const decision = evaluate(person, 'persona.create', limit, { ...facts, recentCreations });
    expect(!decision.allowed && decision.retryAfter).toEqual(new Date(daysAgo(3).getTime() + 7 * DAY));
  });

  it('refuses creation to a HIGH-risk person with ACCOUNT_SUSPENDED, never naming the risk (edge case 1)', () => {
    const decision = evaluate({ ...person, riskLevel: 'HIGH' }, 'persona.create', policies(), facts);
    expect(decision).toMatchObject({ allowed: false, code: 'ACCOUNT_SUSPENDED' });
    expect(JSON.stringify(decision)).not.toMatch(/risk|HIGH|score/i);
  });

  it('lets a MEDIUM-risk person create, so MEDIUM is never revealed by a refusal', () => {
    expect(evaluate({ ...person, riskLevel: 'MEDIUM' }, 'persona.create', policies(), facts)).toEqual({ allowed: true });
  });

  it('refuses a banned person everything, first', () => {
    for (const action of ['persona.create', 'persona.rotate', 'board.post']) {
      expect(evaluate({ ...person, banned: true, riskLevel: 'HIGH' }, action, policies(), facts)).toMatchObject({ code: 'BANNED' });
    }
  });
});

describe('evaluate: rotation and reactivation', () => {
  it('holds the rotation cooldown (default 24 hours) and lifts it after', () => {
    const lastRotationAt = new Date(NOW.getTime() - 23 * 3_600_000);
    expect(evaluate(person, 'persona.rotate', policies(), { ...facts, lastRotationAt })).toMatchObject({
      allowed: false,
      code: 'ROTATION_COOLDOWN',
      retryAfter: new Date(lastRotationAt.getTime() + 24 * 3_600_000),
    });
    expect(evaluate(person, 'persona.rotate', policies(), { ...facts, lastRotationAt: daysAgo(1) }).allowed).toBe(true);
  });

  it('does not count live personas against rotation (one goes, one comes)', () => {
    expect(evaluate(person, 'persona.rotate', policies(), { ...facts, livePersonas: 3 }).allowed).toBe(true);
  });

  it('refuses rotation and reactivation to a HIGH-risk person (edge case 2)', () => {
    for (const action of ['persona.rotate', 'persona.reactivate']) {
      expect(evaluate({ ...person, riskLevel: 'HIGH' }, action, policies(), facts)).toMatchObject({ code: 'ACCOUNT_SUSPENDED' });
    }
  });

  it('refuses a reactivation that would exceed the maximum', () => {
    expect(evaluate(person, 'persona.reactivate', policies(), { ...facts, livePersonas: 3 })).toMatchObject({ code: 'PERSONA_LIMIT_REACHED' });
  });
});

describe('evaluate: trust levels', () => {
  const needsRegular = policies({ min_trust_level_for_action: { 'board.post': 'REGULAR' } });

  it('requires the minimum trust level of the acting persona', () => {
    expect(evaluate(person, 'board.post', needsRegular, facts)).toMatchObject({ code: 'TRUST_LEVEL_TOO_LOW' });
    expect(evaluate({ ...person, trustLevel: 'REGULAR' }, 'board.post', needsRegular, facts).allowed).toBe(true);
    expect(evaluate({ ...person, trustLevel: 'TRUSTED' }, 'board.post', needsRegular, facts).allowed).toBe(true);
  });

  it('counts a caller acting as no persona as NEW', () => {
    expect(evaluate({ ...person, trustLevel: null }, 'board.post', needsRegular, facts)).toMatchObject({ code: 'TRUST_LEVEL_TOO_LOW' });
    expect(evaluate({ ...person, trustLevel: null }, 'persona.create', policies(), facts).allowed).toBe(true);
  });

  it('allows actions no policy names', () => {
    expect(evaluate(person, 'board.read', needsRegular, facts)).toEqual({ allowed: true });
  });

  it('orders NEW < REGULAR < TRUSTED', () => {
    expect(meetsTrustLevel('NEW', 'REGULAR')).toBe(false);
    expect(meetsTrustLevel('TRUSTED', 'REGULAR')).toBe(true);
    expect(meetsTrustLevel('REGULAR', 'REGULAR')).toBe(true);
  });
});

describe('riskLevelFor', () => {
  const thresholds = DEFAULT_POLICIES.risk_thresholds;

  it('maps spec 002 bands: [0, 0.3) LOW, [0.3, 0.7) MEDIUM, [0.7, 1] HIGH', () => {
    expect([0, 0.29, 0.3, 0.69, 0.7, 1].map((score) => riskLevelFor(score, thresholds))).toEqual([
      'LOW', 'LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'HIGH',
    ]);
  });

  it('treats a score read back from a real column (0.7 → 0.699999988…) as the value it was written as', () => {
    expect(riskLevelFor(Math.fround(0.7), thresholds)).toBe('HIGH');
    expect(riskLevelFor(Math.fround(0.3), thresholds)).toBe('MEDIUM');
  });

  it('follows configured thresholds', () => {
    expect(riskLevelFor(0.5, { medium: 0.2, high: 0.5 })).toBe('HIGH');
  });
});

describe('policy values', () => {
  it('validates each value against its own schema', () => {
    expect(policyValueProblems('max_personas_per_user', 5)).toEqual([]);
    expect(policyValueProblems('max_personas_per_user', 0)).not.toEqual([]);
    expect(policyValueProblems('max_personas_per_user', '3')).not.toEqual([]);
    expect(policyValueProblems('persona_creation_rate_limit', { count: 2, windowDays: 7 })).toEqual([]);
    expect(policyValueProblems('persona_creation_rate_limit', { count: 2, windowDays: 7, extra: 1 })).not.toEqual([]);
    expect(policyValueProblems('min_trust_level_for_action', { 'board.post': 'TRUSTED' })).toEqual([]);
    expect(policyValueProblems('min_trust_level_for_action', { 'board.post': 'ADMIN' })).not.toEqual([]);
    expect(policyValueProblems('min_trust_level_for_action', { 'Not An Action': 'NEW' })).not.toEqual([]);
    expect(policyValueProblems('min_trust_level_for_action', { [`a.${'b'.repeat(70)}`]: 'NEW' })).not.toEqual([]);
  });

  it('requires the medium risk threshold below the high one', () => {
    expect(policyValueProblems('risk_thresholds', { medium: 0.4, high: 0.8 })).toEqual([]);
    expect(policyValueProblems('risk_thresholds', { medium: 0.8, high: 0.4 })).toEqual(['risk_thresholds: medium must be below high']);
  });

  it('applies valid overrides and falls back to defaults for invalid or unknown ones', () => {
    const effective = effectivePolicies({ max_personas_per_user: 5, deactivation_grace_days: -1, unknown_policy: 1 });
    expect(effective.max_personas_per_user).toBe(5);
    expect(effective.deactivation_grace_days).toBe(90);
    expect(effective).not.toHaveProperty('unknown_policy');
  });
});

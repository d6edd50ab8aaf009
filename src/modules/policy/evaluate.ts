import type { RiskLevel } from '../accountability/accountability.js';
import { TRUST_LEVELS, type TrustLevel } from '../personas/persona.js';
import type { Policies } from './policy.js';

/** The actions the identity service itself asks about. */
export const PERSONA_ACTIONS = {
  create: 'persona.create',
  rotate: 'persona.rotate',
  reactivate: 'persona.reactivate',
} as const;

/** Who asks: the person behind the caller, and the persona they act as. Internal only. */
export interface PolicySubject {
  readonly banned: boolean;
  readonly riskLevel: RiskLevel;
  /** The acting persona's trust level; null when the caller acts as no persona (counted as NEW). */
  readonly trustLevel: TrustLevel | null;
}

/** What the rules need to know about the person's personas, read in the same transaction that acts. */
export interface PolicyFacts {
  readonly now: Date;
  /** Personas that are active and not deleted. */
  readonly livePersonas: number;
  /** When the person created personas (origin `created`) within the creation window, oldest first. */
  readonly recentCreations: readonly Date[];
  /** When the person last rotated a persona, if ever. */
  readonly lastRotationAt: Date | null;
}

export type Denial =
  | 'BANNED'
  | 'ACCOUNT_SUSPENDED'
  | 'TRUST_LEVEL_TOO_LOW'
  | 'PERSONA_LIMIT_REACHED'
  | 'PERSONA_RATE_LIMITED'
  | 'ROTATION_COOLDOWN';

export type Decision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly code: Denial; readonly reason: string; readonly retryAfter?: Date };

const ALLOWED: Decision = Object.freeze({ allowed: true });
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The abuse score's risk level under the thresholds (lower bounds inclusive: 0.3 is MEDIUM, 0.7 HIGH).
 * Compared in single precision, because the score is stored as a PostgreSQL `real`: 0.7 reads back as
 * 0.699999988…, and must still be HIGH.
 */
export function riskLevelFor(score: number, thresholds: Policies['risk_thresholds']): RiskLevel {
  const value = Math.fround(score);
  if (value >= Math.fround(thresholds.high)) return 'HIGH';
  if (value >= Math.fround(thresholds.medium)) return 'MEDIUM';
  return 'LOW';
}

/** Whether `level` is at least `required` (NEW < REGULAR < TRUSTED). */
export function meetsTrustLevel(level: TrustLevel, required: TrustLevel): boolean {
  return TRUST_LEVELS.indexOf(level) >= TRUST_LEVELS.indexOf(required);
}

/**
 * Can this subject do this action now? Pure: the same answer for `POST /policy/check` and for the
 * service about to act. Reasons never name a risk level or score: HIGH risk shows only as the
 * suspension spec 002 already tells the person about (ACCOUNT_SUSPENDED), MEDIUM not at all.
 */
export function evaluate(subject: PolicySubject, action: string, policies: Policies, facts: PolicyFacts): Decision {
  if (subject.banned) return deny('BANNED', 'This identity is banned.');
  if (subject.riskLevel === 'HIGH' && policies.high_risk_blocked_actions.includes(action)) {
    return deny('ACCOUNT_SUSPENDED', 'This account is suspended from this action. You may appeal the decision.');
  }
  const required = Object.hasOwn(policies.min_trust_level_for_action, action)
    ? policies.min_trust_level_for_action[action]
    : undefined;
  if (required && !meetsTrustLevel(subject.trustLevel ?? 'NEW', required)) {
    return deny('TRUST_LEVEL_TOO_LOW', `This action needs a persona of trust level ${required} or above.`);
  }
  switch (action) {
    case PERSONA_ACTIONS.create:
      return underPersonaLimit(policies, facts) ?? underCreationRate(policies, facts) ?? ALLOWED;
    case PERSONA_ACTIONS.reactivate:
      return underPersonaLimit(policies, facts) ?? ALLOWED;
    case PERSONA_ACTIONS.rotate:
      return afterRotationCooldown(policies, facts) ?? ALLOWED;
    default:
      return ALLOWED;
  }
}

function underPersonaLimit(policies: Policies, facts: PolicyFacts): Decision | null {
  if (facts.livePersonas < policies.max_personas_per_user) return null;
  return deny(
    'PERSONA_LIMIT_REACHED',
    `You already have ${policies.max_personas_per_user} active personas, the most allowed. Deactivate one first.`,
  );
}

function underCreationRate(policies: Policies, facts: PolicyFacts): Decision | null {
  const { count, windowDays } = policies.persona_creation_rate_limit;
  const windowStart = facts.now.getTime() - windowDays * DAY_MS;
  const recent = facts.recentCreations.filter((at) => at.getTime() > windowStart);
  if (recent.length < count) return null;
  // The slot frees when the oldest creation that still counts leaves the window.
  const freedBy = recent[recent.length - count];
  return deny(
    'PERSONA_RATE_LIMITED',
    `At most ${count} new persona(s) per ${windowDays} day(s).`,
    freedBy ? new Date(freedBy.getTime() + windowDays * DAY_MS) : undefined,
  );
}

function afterRotationCooldown(policies: Policies, facts: PolicyFacts): Decision | null {
  if (!facts.lastRotationAt) return null;
  const until = facts.lastRotationAt.getTime() + policies.persona_rotation_cooldown.hours * HOUR_MS;
  if (facts.now.getTime() >= until) return null;
  return deny('ROTATION_COOLDOWN', `Personas can be rotated once per ${policies.persona_rotation_cooldown.hours} hour(s).`, new Date(until));
}

function deny(code: Denial, reason: string, retryAfter?: Date): Decision {
  return retryAfter ? { allowed: false, code, reason, retryAfter } : { allowed: false, code, reason };
}

/** The window the creation facts must cover: the facts source reads creations after this instant. */
export function creationWindowStart(policies: Policies, now: Date): Date {
  return new Date(now.getTime() - policies.persona_creation_rate_limit.windowDays * DAY_MS);
}

import { riskLevelFor } from '../policy/evaluate.js';

/** The risk the platform sees in a person; it follows them across personas and accounts. */
export type RiskLevel = 'LOW' | 'MEDIUM' | 'HIGH';

export const RISK_LEVELS: readonly RiskLevel[] = ['LOW', 'MEDIUM', 'HIGH'];

/** Abuse scores at and above `medium` are MEDIUM risk, at and above `high` HIGH (policy `risk_thresholds`). */
export interface RiskThresholds {
  readonly medium: number;
  readonly high: number;
}

/**
 * Whether what the person posts goes to manual review first (spec 002: MEDIUM means a moderation
 * delay, HIGH manual review only). Apps get this outcome, never the risk level behind it.
 */
export function reviewRequiredFor(riskLevel: RiskLevel): boolean {
  return riskLevel !== 'LOW';
}

/** What trust & safety may change about a person; a missing field stays as it is. */
export interface AccountabilityChanges {
  readonly abuseScore?: number;
  readonly riskLevel?: RiskLevel;
  readonly verified?: boolean;
  readonly legalHold?: boolean;
}

/**
 * The changes a new abuse score makes: the score, and the risk level given with it or else the
 * one the score implies under the thresholds in force (spec 002: 0.3 and 0.7 by default).
 */
export function abuseScoreChanges(score: number, riskLevel: RiskLevel | undefined, thresholds: RiskThresholds): AccountabilityChanges {
  const stored = storableScore(score);
  return { abuseScore: stored, riskLevel: riskLevel ?? riskLevelFor(stored, thresholds) };
}

/**
 * A score as the database keeps it: `real` holds about six significant digits and refuses anything
 * nearer to zero than about 1e-38 (an underflow error, so 1e-270 answered 500). Six decimals is all a
 * 0–1 score can mean; the risk level is derived from the value that is stored.
 */
export function storableScore(score: number): number {
  return Math.round(score * 1e6) / 1e6;
}

/** A person's accountability as internal tools see it (admin API only, never public). */
export interface AccountabilitySummary {
  readonly accountabilityProfileId: string;
  readonly abuseScore: number;
  readonly riskLevel: RiskLevel;
  readonly verified: boolean;
  readonly legalHold: boolean;
  readonly banned: boolean;
  readonly bannedAt: string | null;
  readonly banReason: string | null;
  readonly createdAt: string;
}

/** A persona as internal tools see it: every state, both ids. */
export interface AdminPersona {
  readonly id: string;
  readonly accountabilityProfileId: string;
  readonly displayName: string;
  readonly avatarUrl: string | null;
  readonly authorId: string;
  readonly trustLevel: string;
  readonly active: boolean;
  readonly createdAt: string;
  readonly deactivatedAt: string | null;
  readonly deletedAt: string | null;
}

export interface PersonaFlag {
  readonly id: string;
  readonly personaId: string;
  readonly reason: string;
  readonly actor: string;
  readonly createdAt: string;
}

/**
 * An inferred link as trust & safety sees it: a guest identity (its cookie) seen signing in as a
 * person, with how sure that is (0–1). Internal: never shown to the person, never a grant of access.
 */
export interface InferredLink {
  readonly guestAccountabilityProfileId: string;
  readonly signedInAccountabilityProfileId: string;
  readonly confidence: number | null;
  readonly createdAt: string;
}

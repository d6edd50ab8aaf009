import { RISK_LEVELS, type RiskLevel } from '../accountability/accountability.js';

/** What a person is held to, as far as inheritance goes. */
export interface HeldAccountability {
  readonly riskLevel: RiskLevel;
  readonly abuseScore: number;
  readonly banned: boolean;
  readonly banReason: string | null;
}

/** The stricter values the signed-in person takes on; absent fields stay as they are. */
export interface InheritedAccountability {
  readonly riskLevel?: RiskLevel;
  readonly abuseScore?: number;
  /** Set when the guest was banned and the person was not: the ban's reason, marked as inherited. */
  readonly banReason?: string;
}

/**
 * DESIGN.md §2b: signing in from a browser that holds a guest identity records an inferred link, and
 * the signed-in person takes on the guest's accountability where it is stricter — the higher risk
 * level, the higher abuse score, and a ban. Never the other way round: nothing is relaxed, so
 * neither registering nor signing in can launder a ban or a risk level. Null when nothing changes.
 * The same rule serves direct links and retired methods; `origin` names the source in a ban's reason.
 */
export function inheritFromGuest(guest: HeldAccountability, person: HeldAccountability, origin = 'a linked guest'): InheritedAccountability | null {
  const riskLevel = RISK_LEVELS.indexOf(guest.riskLevel) > RISK_LEVELS.indexOf(person.riskLevel) ? guest.riskLevel : undefined;
  const abuseScore = guest.abuseScore > person.abuseScore ? guest.abuseScore : undefined;
  const banReason = guest.banned && !person.banned ? `inherited from ${origin}: ${guest.banReason ?? 'banned'}` : undefined;
  if (riskLevel === undefined && abuseScore === undefined && banReason === undefined) return null;
  return {
    ...(riskLevel === undefined ? {} : { riskLevel }),
    ...(abuseScore === undefined ? {} : { abuseScore }),
    ...(banReason === undefined ? {} : { banReason }),
  };
}

/**
 * How sure an inferred link is that a guest and a signed-in person are one person (spec 003's
 * `confidenceScore`, 0–1). One browser cookie seen signing in is strong evidence but not proof (a
 * shared or public computer), hence below 1; a cookie seen signing into several people is a shared
 * device, and each link is worth that much less.
 */
export function inferredLinkConfidence(peopleSignedInto: number): number {
  const SINGLE_SIGN_IN = 0.9;
  return Math.round((SINGLE_SIGN_IN / Math.max(1, peopleSignedInto)) * 1000) / 1000;
}

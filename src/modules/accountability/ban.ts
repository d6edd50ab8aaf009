import type { RiskLevel } from './accountability.js';

/** Whom a ban names: any public handle on one person. The ban always lands on the person. */
export type BanSubject =
  | { readonly personaId: string }
  | { readonly authorId: string }
  | { readonly personHash: string };

export function describeSubject(subject: BanSubject): string {
  if ('personaId' in subject) return `persona:${subject.personaId}`;
  if ('authorId' in subject) return `author:${subject.authorId}`;
  return `person-hash:${subject.personHash}`;
}

/**
 * A ban also makes the person HIGH risk: should the ban be lifted, they still cannot create
 * personas and their posts still go to review until trust & safety lowers the risk (spec 002).
 */
export const BANNED_RISK_LEVEL = 'HIGH' satisfies RiskLevel;

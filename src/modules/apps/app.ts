import type { ActivePersona } from '../sessions/session.js';

/** A registered app as its operator sees it. */
export interface AppSummary {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly revoked: boolean;
}

/** What an app learns about one of its users: public facts and a pseudonym that is pairwise to it. */
export interface AppView {
  readonly started: boolean;
  readonly persona: ActivePersona | null;
  readonly banned: boolean;
  readonly personHash: string | null;
  /**
   * Whether the person's posts go to manual review first (their risk is MEDIUM or HIGH). A policy
   * outcome: the risk level and abuse score behind it never leave the service.
   */
  readonly reviewRequired: boolean;
}

/** API keys name their kind, so a leaked one is recognizable in a secret scanner. */
export const API_KEY_PREFIX = 'pk_app_';

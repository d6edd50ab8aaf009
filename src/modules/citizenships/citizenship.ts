/**
 * Citizenships and moves between territories (spec 004, DESIGN.md §2b and §5). Pure rules only:
 * what a person's residency looks like, and whether a move may start.
 */
import { AppError } from '../../errors.js';
import type { MoveStep } from '../../db/federation-schema.js';

export type { MoveStep };

/** A citizenship as its holder sees it. */
export interface Citizenship {
  readonly territory: { readonly code: string; readonly name: string };
  readonly primary: boolean;
  readonly since: Date;
}

/** The migration record of one move: the saga's state, read back on every resume. */
export interface MoveRecord {
  readonly id: string;
  readonly accountabilityProfileId: string;
  readonly from: string;
  readonly to: string;
  readonly dualCitizenship: boolean;
  readonly invitationId: string | null;
  /** The person's resident row in the old territory (materialized by the copy step if missing). */
  readonly fromUserId: string;
  /** The person's resident row in the new territory. */
  readonly toUserId: string;
  readonly step: MoveStep;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  /** The request that started it: every step's audit row carries it, resumed or not. */
  readonly correlationId: string;
}

/** What the start of a move is decided on, read inside its transaction. */
export interface MoveFacts {
  readonly target: { readonly code: string; readonly status: 'active' | 'closed'; readonly inviteOnly: boolean } | null;
  /** The person's current territory (their primary citizenship, else the default). */
  readonly current: string;
  /** When the person's last move finished, if ever. */
  readonly lastMoveFinishedAt: Date | null;
  readonly cooldownDays: number;
  readonly hasInvitation: boolean;
  readonly canRedeemInvitations: boolean;
  readonly now: Date;
}

/** Seconds until the cooldown after the last move ends (0: the person may move). */
export function cooldownLeftSeconds(lastMoveFinishedAt: Date | null, cooldownDays: number, now: Date): number {
  if (!lastMoveFinishedAt || cooldownDays <= 0) return 0;
  const endsAt = lastMoveFinishedAt.getTime() + cooldownDays * 86_400_000;
  return Math.max(0, Math.ceil((endsAt - now.getTime()) / 1000));
}

/**
 * Why a move may not start, or null. The order is what a person can act on first: a target that
 * does not take them, then where they already are, then when they may move, then the invitation.
 */
export function moveRefusal(facts: MoveFacts): AppError | null {
  const { target } = facts;
  if (!target) return new AppError('TERRITORY_NOT_FOUND', 'There is no territory with this code.');
  if (target.status !== 'active') return new AppError('TERRITORY_CLOSED', 'This territory takes no new residents.');
  if (target.code === facts.current) return new AppError('ALREADY_CITIZEN', 'You already live in this territory.');
  const wait = cooldownLeftSeconds(facts.lastMoveFinishedAt, facts.cooldownDays, facts.now);
  if (wait > 0) {
    return new AppError('MOVE_COOLDOWN', `One move per ${facts.cooldownDays} days: you may move again in ${Math.ceil(wait / 86_400)} day(s).`, {
      retryAfterSeconds: wait,
    });
  }
  if (target.inviteOnly && !facts.hasInvitation) return new AppError('INVITATION_REQUIRED', 'This territory is invite-only: bring an invitation.');
  if (target.inviteOnly && !facts.canRedeemInvitations) {
    return new AppError('INVITATION_REQUIRED', 'This server cannot redeem invitations yet, so invite-only territories take no moves.');
  }
  return null;
}

import type { TokenHasher } from '../../crypto/tokens.js';
import type { InvitationKind } from '../../db/federation-schema.js';
import type { ErrorCode } from '../../errors.js';
import type { Policies } from '../policy/policy.js';

/**
 * Invitations (spec 004): a bearer token that lets a person register in, or move to, a territory.
 * Pure rules only: no database, no HTTP.
 */

export type { InvitationKind };

/**
 * The path of a share link; the token follows in the fragment (`<PUBLIC_ORIGIN>/invite#<token>`).
 * A fragment is never sent to a server, so no access log, proxy or Referer header ever carries the
 * token; the web app reads it in the browser and posts it (`POST /invitations/inspect`).
 */
export const INVITE_PATH = '/invite#';

/** An invitation lives 30 days unless its creator says otherwise, and never more than a year. */
export const DEFAULT_LIFETIME_DAYS = 30;
export const MAX_LIFETIME_DAYS = 365;

/** A group invitation may be capped at up to this many uses (or left unlimited). */
export const MAX_GROUP_USES = 100_000;

const DAY_MS = 86_400_000;

/** Why an invitation cannot be used. `other-territory`: it is good, but for another territory. */
export type RedemptionRefusal = 'invalid' | 'expired' | 'used-up' | 'revoked' | 'mismatch' | 'other-territory';

export type RedemptionResult =
  | { readonly ok: true; readonly invitationId: string }
  | { readonly ok: false; readonly reason: RedemptionRefusal };

export type RedemptionPurpose = 'registration' | 'move';

/** The share link of a token (see INVITE_PATH: the token rides in the fragment, never in a logged URL). */
export function inviteLink(publicOrigin: string, token: string): string {
  return `${publicOrigin.replace(/\/+$/, '')}${INVITE_PATH}${token}`;
}

/**
 * The stored form of a token: a keyed hash, so a copy of the table cannot be replayed as
 * invitations. Under the `challenge` purpose with its own `invitation:` prefix, so it never matches
 * a hash made for any other secret.
 */
export function invitationTokenHash(hasher: TokenHasher, token: string): Buffer {
  return hasher.hash('challenge', `invitation:${token}`);
}

/** What the state rules need of a stored invitation. */
export interface InvitationState {
  readonly maxUses: number | null;
  readonly uses: number;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
}

/** Why the invitation can no longer be used by anyone, or null while it can. Revocation wins. */
export function unusableReason(invitation: InvitationState, now: Date): 'revoked' | 'expired' | 'used-up' | null {
  if (invitation.revokedAt !== null) return 'revoked';
  if (invitation.expiresAt !== null && invitation.expiresAt.getTime() <= now.getTime()) return 'expired';
  if (invitation.maxUses !== null && invitation.uses >= invitation.maxUses) return 'used-up';
  return null;
}

export interface InvitationRequest {
  readonly kind: InvitationKind;
  /** Omitted: 1 for single use, unlimited for a group. Null: unlimited (group only). */
  readonly maxUses?: number | null | undefined;
  readonly expiresAt?: string | undefined;
}

export interface InvitationTerms {
  readonly kind: InvitationKind;
  readonly maxUses: number | null;
  readonly expiresAt: Date;
}

/**
 * The terms of a new invitation, or what is wrong with the request (a VALIDATION_FAILED message).
 * A single-use invitation is used once; its expiry lies in the future and within a year.
 */
export function invitationTerms(request: InvitationRequest, now: Date): InvitationTerms | string {
  let maxUses: number | null;
  if (request.kind === 'single_use') {
    if (request.maxUses !== undefined && request.maxUses !== 1) return 'A single-use invitation has maxUses 1 (or none given).';
    maxUses = 1;
  } else {
    maxUses = request.maxUses ?? null;
  }
  const latest = now.getTime() + MAX_LIFETIME_DAYS * DAY_MS;
  if (request.expiresAt === undefined) return { kind: request.kind, maxUses, expiresAt: new Date(now.getTime() + DEFAULT_LIFETIME_DAYS * DAY_MS) };
  const expiresAt = new Date(request.expiresAt);
  if (Number.isNaN(expiresAt.getTime())) return 'expiresAt is not a date.';
  if (expiresAt.getTime() <= now.getTime()) return 'expiresAt must lie in the future.';
  if (expiresAt.getTime() > latest) return `expiresAt may lie at most ${MAX_LIFETIME_DAYS} days ahead.`;
  return { kind: request.kind, maxUses, expiresAt };
}

/** The policy action behind creating an invitation, as `POST /policy/check` and the service ask it. */
export const INVITE_ACTION = 'invitation.create';

/**
 * The policies as they judge an invitation: its minimum trust level is `min_trust_level_to_invite`,
 * and a HIGH-risk person may never invite, whatever the operator lists, because inviting fresh
 * accounts is the easiest way to launder a ban through sock puppets (DESIGN.md §2.4).
 */
export function invitePolicies(policies: Policies): Policies {
  return {
    ...policies,
    min_trust_level_for_action: { ...policies.min_trust_level_for_action, [INVITE_ACTION]: policies.min_trust_level_to_invite },
    high_risk_blocked_actions: [...new Set([...policies.high_risk_blocked_actions, INVITE_ACTION])],
  };
}

/** The territory a person invites into: one they are a citizen of, or any open one. */
export interface InviteTarget {
  readonly code: string;
  readonly status: 'active' | 'closed';
  readonly inviteOnly: boolean;
}

/**
 * Where a person may invite: into a territory they hold a live citizenship of (the default one for
 * people with none), even an invite-only one, because that is what invitations are for; into any
 * other active territory that is not invite-only (an invitation there only points the way). Nobody
 * invites into a closed territory, operators included.
 */
export function inviteRefusal(target: InviteTarget, citizenOf: readonly string[], byOperator: boolean): 'closed' | 'not-citizen' | null {
  if (target.status === 'closed') return 'closed';
  if (byOperator || citizenOf.includes(target.code) || !target.inviteOnly) return null;
  return 'not-citizen';
}

/** The stable error code of each refusal at redemption (a token for another territory is a mismatch). */
export const REFUSAL_CODES: Readonly<Record<RedemptionRefusal, ErrorCode>> = {
  invalid: 'INVITATION_INVALID',
  expired: 'INVITATION_EXPIRED',
  'used-up': 'INVITATION_USED_UP',
  revoked: 'INVITATION_REVOKED',
  mismatch: 'INVITATION_MISMATCH',
  'other-territory': 'INVITATION_MISMATCH',
};

export const REFUSAL_MESSAGES: Readonly<Record<RedemptionRefusal, string>> = {
  invalid: 'This invitation does not exist. Check the link or ask for a new one.',
  expired: 'This invitation has expired. Ask for a new one.',
  'used-up': 'This invitation has been used as often as it allows.',
  revoked: 'This invitation was withdrawn by the person who made it.',
  mismatch: 'This invitation is meant for another address or handle.',
  'other-territory': 'This invitation is for another territory.',
};

/**
 * The day of a use, never its time: an inviter sees how often and on which days their invitation
 * was used, but an exact time could be matched against the moment a new persona appeared.
 */
export function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The message that carries an invitation to an invited address. */
export function invitationMail(territoryName: string, link: string, expiresAt: Date): { subject: string; text: string } {
  return {
    subject: `You are invited to ${territoryName}`,
    text: [
      `You have been invited to join ${territoryName}.`,
      '',
      'Open this link to accept:',
      '',
      `  ${link}`,
      '',
      `The invitation is valid until ${expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
      'You may choose a handle, and giving an email address is up to you.',
      'If you did not expect this message, ignore it: nothing happens unless the link is used.',
    ].join('\n'),
  };
}

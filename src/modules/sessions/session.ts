import type { AccountType } from '../accounts/account.js';
import type { TrustLevel } from '../personas/persona.js';

/** The persona a session acts as, in the form the public may see. */
export interface ActivePersona {
  readonly id: string;
  readonly displayName: string;
  readonly trustLevel: TrustLevel;
  /** The persona's public pseudonym (spec 001's "author hash"). */
  readonly authorId: string;
  /**
   * The person is verified (payment verification, spec 002): a badge that follows the person, so
   * every persona of theirs shows it, the new one after a rotation included.
   */
  readonly verified: boolean;
}

/** Everything a request needs to know about its caller. Internal: never serialized as it is. */
export interface SessionContext {
  readonly sessionId: string;
  /** The session's public handle (access tokens' `sid`); the row id never leaves. */
  readonly sessionPublicId: string;
  readonly accountId: string;
  readonly accountType: AccountType;
  readonly accountabilityProfileId: string;
  readonly banned: boolean;
  readonly persona: ActivePersona | null;
}

/** What `GET /session` tells the caller about themselves. */
export interface PublicSession {
  /** False until the visitor first does something that needs state (see README: lazy start). */
  readonly started: boolean;
  readonly anonymous: boolean;
  readonly banned: boolean;
  readonly persona: ActivePersona | null;
}

export const NOT_STARTED: PublicSession = Object.freeze({ started: false, anonymous: true, banned: false, persona: null });

export function toPublicSession(context: SessionContext): PublicSession {
  return {
    started: true,
    anonymous: context.accountType === 'guest',
    banned: context.banned,
    persona: context.persona,
  };
}

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

/**
 * The body of a session answer: who the caller is, under the request's correlation id. Spelled out
 * rather than `{ ...publicSession, correlationId }`: copying the object and then growing it, and
 * serializing the result, took 3.4–4.2 µs against 2.0 µs (micro-benchmark); on the cached
 * `GET /session` that was more than a tenth of its throughput, measured side by side.
 */
export function sessionAnswer(context: SessionContext | null, correlationId: string): PublicSession & { readonly correlationId: string } {
  return context === null
    ? { started: false, anonymous: true, banned: false, persona: null, correlationId }
    : { started: true, anonymous: context.accountType === 'guest', banned: context.banned, persona: context.persona, correlationId };
}

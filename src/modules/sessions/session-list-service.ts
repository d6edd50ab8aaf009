import { AppError } from '../../errors.js';
import type { ListedSession, SessionListRepository, SessionScope } from './session-list-repository.js';
import type { SessionContext } from './session.js';

/** A session in the caller's list; `current` marks the one the request came with. */
export interface SessionListEntry extends ListedSession {
  readonly current: boolean;
}

export interface SessionListService {
  /** The caller's live signed-in sessions (and, privacy modes permitting, those of their other accounts). */
  list(caller: SessionContext): Promise<SessionListEntry[]>;
  /**
   * Ends one listed session (SESSION_NOT_FOUND for any other id, another person's included).
   * Answers whether it was the caller's own: that is a sign-out.
   */
  revoke(caller: SessionContext, publicId: string): Promise<{ readonly current: boolean }>;
  /** Ends every listed session but the caller's; answers how many ended. */
  revokeOthers(caller: SessionContext): Promise<number>;
}

export interface SessionListServiceDeps {
  readonly sessions: SessionListRepository;
  /** Drops a person's cached sessions on every node (after the commit that ended them). */
  readonly evictProfile: (accountabilityProfileId: string) => Promise<void>;
}

/**
 * A guest is an account like any other (spec 003), with one session: the anonymous identity of its
 * `anon_id` cookie, or of its API tokens. It sees that session; it may end an API one (its sign-out),
 * never a browser one, which is the identity itself (DELETE /api/v2/auth/identity erases that).
 */
const scopeOf = (caller: SessionContext): SessionScope => (caller.accountType === 'guest' ? 'guest' : 'signed-in');

export function createSessionListService({ sessions, evictProfile }: SessionListServiceDeps): SessionListService {
  async function evicted(revoked: { readonly count: number; readonly accountabilityProfileId: string | null }): Promise<number> {
    if (revoked.accountabilityProfileId) await evictProfile(revoked.accountabilityProfileId);
    return revoked.count;
  }

  return {
    async list(caller) {
      const listed = await sessions.list(caller.accountId, scopeOf(caller));
      return listed.map((session) => ({ ...session, current: session.publicId === caller.sessionPublicId }));
    },

    async revoke(caller, publicId) {
      const ended = await evicted(await sessions.revoke(caller.accountId, publicId, scopeOf(caller)));
      if (ended === 0 && caller.accountType === 'guest' && publicId === caller.sessionPublicId) {
        throw new AppError(
          'GUEST_SESSION_PERMANENT',
          'A browser guest\'s session is its anonymous identity: it cannot be ended, only erased (DELETE /api/v2/auth/identity).',
        );
      }
      if (ended === 0) throw new AppError('SESSION_NOT_FOUND', 'None of your sessions has that id.');
      return { current: publicId === caller.sessionPublicId };
    },

    async revokeOthers(caller) {
      return evicted(await sessions.revokeAllBut(caller.accountId, caller.sessionPublicId, scopeOf(caller)));
    },
  };
}

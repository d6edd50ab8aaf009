import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';

export type RefreshOutcome =
  | { readonly kind: 'rotated'; readonly sessionPublicId: string }
  /** A token already used was presented again: its session was ended (someone holds a copy). */
  | { readonly kind: 'reused'; readonly profileId: string | null }
  | { readonly kind: 'unknown' };

export interface RefreshTokenRepository {
  /** Spends a refresh token and stores its successor, in one transaction; a spent token ends its session. */
  rotate(presentedHash: Buffer, nextHash: Buffer): Promise<RefreshOutcome>;
  /** A first refresh token for an existing session (an API guest). */
  issue(sessionId: string, tokenHash: Buffer): Promise<void>;
}

export function createRefreshTokenRepository(db: Db): RefreshTokenRepository {
  return {
    rotate: (presentedHash, nextHash) =>
      db.transaction().execute(async (trx): Promise<RefreshOutcome> => {
        // Spent in one UPDATE: of two concurrent refreshes with one token, exactly one rotates.
        const spent = await trx
          .updateTable('refresh_tokens as rt')
          .set({ used_at: sql<Date>`now()` })
          .where('rt.token_hash', '=', presentedHash)
          .where('rt.used_at', 'is', null)
          // Only while the session is alive (absolute and idle ends by the database's clock).
          .where(({ exists, selectFrom }) =>
            exists(
              selectFrom('sessions as s')
                .select('s.id')
                .whereRef('s.id', '=', 'rt.session_id')
                .where((eb) => eb.or([eb('s.expires_at', 'is', null), eb('s.expires_at', '>', sql<Date>`now()`)]))
                .where(sql<boolean>`(s.idle_timeout_seconds is null or s.last_seen_at + make_interval(secs => s.idle_timeout_seconds) > now())`),
            ),
          )
          .returning('rt.session_id as sessionId')
          .executeTakeFirst();
        if (spent) {
          await trx.insertInto('refresh_tokens').values({ token_hash: nextHash, session_id: spent.sessionId }).execute();
          const session = await trx
            .updateTable('sessions')
            .set({ last_seen_at: sql<Date>`now()` })
            .where('id', '=', spent.sessionId)
            .returning('public_id')
            .executeTakeFirstOrThrow();
          return { kind: 'rotated', sessionPublicId: session.public_id };
        }
        const reused = await trx
          .selectFrom('refresh_tokens as rt')
          .innerJoin('sessions as s', 's.id', 'rt.session_id')
          .innerJoin('accounts as a', 'a.id', 's.account_id')
          .select(['rt.session_id as sessionId', 'a.accountability_profile_id as profileId'])
          .where('rt.token_hash', '=', presentedHash)
          .where('rt.used_at', 'is not', null)
          .executeTakeFirst();
        if (!reused) return { kind: 'unknown' };
        // Reuse detection (OAuth 2.0 Security BCP §4.14.2): the legitimate client and a thief both
        // hold this family; neither can be told apart, so the whole session ends.
        await trx.deleteFrom('sessions').where('id', '=', reused.sessionId).execute();
        await appendEvent(trx, {
          type: 'SessionRevoked',
          payload: { sessionId: reused.sessionId, accountabilityProfileId: reused.profileId, reason: 'refresh-token-reuse' },
        });
        return { kind: 'reused', profileId: reused.profileId };
      }),

    async issue(sessionId, tokenHash) {
      await db.insertInto('refresh_tokens').values({ token_hash: tokenHash, session_id: sessionId }).execute();
    },
  };
}

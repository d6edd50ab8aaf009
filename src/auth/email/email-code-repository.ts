import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { MAX_ATTEMPTS } from './email-code.js';

export interface NewCode {
  /** Chosen by the caller: the stored hash is bound to it (see `codeSecret`). */
  readonly id: string;
  /** The recipient's lookup key (`EmailBox.lookupKey`): sends are limited and codes replaced per recipient. */
  readonly subjectKey: Buffer;
  readonly challengeHash: Buffer;
  readonly ttlSeconds: number;
}

export interface SendLimit {
  readonly sends: number;
  readonly windowSeconds: number;
}

export type IssueResult = { readonly issued: true } | { readonly issued: false; readonly retryAfterSeconds: number };

/** The newest live code of a recipient, with this attempt already counted against it. */
export interface CodeAttempt {
  readonly id: string;
  readonly challengeHash: Buffer;
}

/** The email strategy's verification records: one live code per recipient, counted attempts. */
export interface EmailCodeRepository {
  /**
   * Stores a new code for the recipient unless the send limit is reached, and spends every older
   * code of theirs in the same transaction: only the newest code works.
   */
  issue(code: NewCode, limit: SendLimit): Promise<IssueResult>;
  /**
   * Counts one attempt against the recipient's newest live code, *before* the code is compared:
   * one UPDATE … attempts = attempts + 1 … WHERE attempts < MAX_ATTEMPTS RETURNING, so of any
   * number of concurrent guesses at most MAX_ATTEMPTS are ever compared. Null when there is no
   * live code, or it is out of attempts.
   */
  countAttempt(subjectKey: Buffer): Promise<CodeAttempt | null>;
  /** Spends the code; false when it was already spent or expired (two correct submissions: one wins). */
  consume(id: string): Promise<boolean>;
}

/** Advisory-lock class of email code sends (`pg_advisory_xact_lock(class, key)`), apart from any other use. */
const SEND_LOCK_CLASS = 0x6d61696c; // "mail"

export function createEmailCodeRepository(db: Db): EmailCodeRepository {
  return {
    async issue(code, limit) {
      return db.transaction().execute(async (trx): Promise<IssueResult> => {
        // Concurrent sends to one recipient queue here, so the count below and the insert after it
        // cannot interleave: the limit holds under concurrency, and exactly one code stays live.
        await sql`select pg_advisory_xact_lock(${SEND_LOCK_CLASS}::int4, ${code.subjectKey.readInt32BE(0)}::int4)`.execute(trx);
        const recent = await trx
          .selectFrom('verifications')
          .select((eb) => [
            eb.fn.countAll<string>().as('count'),
            // Seconds until the oldest send in the window leaves it (the database's clock, as for expiry).
            sql<string | null>`ceil(extract(epoch from (min(created_at) + make_interval(secs => ${limit.windowSeconds}) - now())))`.as(
              'retryAfter',
            ),
          ])
          .where('strategy', '=', 'email')
          .where('subject_key', '=', code.subjectKey)
          .where('created_at', '>', sql<Date>`now() - make_interval(secs => ${limit.windowSeconds})`)
          .executeTakeFirstOrThrow();
        if (Number(recent.count) >= limit.sends) {
          return { issued: false, retryAfterSeconds: Math.max(1, Number(recent.retryAfter ?? limit.windowSeconds)) };
        }
        await trx
          .updateTable('verifications')
          .set({ consumed_at: sql<Date>`now()` })
          .where('strategy', '=', 'email')
          .where('subject_key', '=', code.subjectKey)
          .where('consumed_at', 'is', null)
          .execute();
        await trx
          .insertInto('verifications')
          .values({
            id: code.id,
            strategy: 'email',
            challenge_hash: code.challengeHash,
            subject_key: code.subjectKey,
            expires_at: sql<Date>`now() + make_interval(secs => ${code.ttlSeconds})`,
          })
          .execute();
        return { issued: true };
      });
    },

    async countAttempt(subjectKey) {
      const newest = db
        .selectFrom('verifications')
        .select('id')
        .where('strategy', '=', 'email')
        .where('subject_key', '=', subjectKey)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', sql<Date>`now()`)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1);
      const row = await db
        .updateTable('verifications')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', newest)
        // Checked again on the row as it is when this update gets it (PostgreSQL re-evaluates the
        // conditions of a row another transaction changed meanwhile), so the cap holds under races.
        .where('attempts', '<', MAX_ATTEMPTS)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', sql<Date>`now()`)
        .returning(['id', 'challenge_hash as challengeHash'])
        .executeTakeFirst();
      return row ?? null;
    },

    async consume(id) {
      const row = await db
        .updateTable('verifications')
        .set({ consumed_at: sql<Date>`now()` })
        .where('id', '=', id)
        .where('strategy', '=', 'email')
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', sql<Date>`now()`)
        .returning('id')
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}

import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { StrategyName } from './strategy.js';

export interface NewVerification {
  readonly strategy: StrategyName;
  /** Keyed hash of the challenge's secret part (nonce, code, state, WebAuthn challenge). */
  readonly challengeHash: Buffer;
  /** What the challenge is for (a recipient's lookup key), when sends are limited per subject. */
  readonly subjectKey?: Buffer | null;
  /** Whatever the ceremony needs back at verification time (never a secret in the clear). */
  readonly state: Record<string, unknown>;
  readonly ttlSeconds: number;
}

export interface ConsumedVerification {
  readonly id: string;
  readonly state: Record<string, unknown>;
  readonly subjectKey: Buffer | null;
}

/** The verification records every ceremony keeps: short-lived, single-use challenges. */
export interface VerificationRepository {
  create(verification: NewVerification): Promise<string>;
  /**
   * Marks the live challenge with this hash used and answers its state; null when there is none
   * (unknown, expired or already used). One UPDATE … RETURNING: of any number of concurrent
   * attempts exactly one gets the row, and it is spent before the proof is even looked at.
   */
  consume(strategy: StrategyName, challengeHash: Buffer): Promise<ConsumedVerification | null>;
  /** The same, by the record's id (ceremonies whose client echoes an id rather than the secret). */
  consumeById(strategy: StrategyName, id: string): Promise<ConsumedVerification | null>;
  /** How many challenges were made for the subject in the last `windowSeconds` (send limits). */
  countRecent(strategy: StrategyName, subjectKey: Buffer, windowSeconds: number): Promise<number>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createVerificationRepository(db: Db): VerificationRepository {
  const consumeWhere = (strategy: StrategyName) =>
    db
      .updateTable('verifications')
      .set({ consumed_at: sql<Date>`now()` })
      .where('strategy', '=', strategy)
      .where('consumed_at', 'is', null)
      // The database's clock decides expiry, the same on every node.
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(['id', 'state', 'subject_key as subjectKey']);

  return {
    async create(verification) {
      const row = await db
        .insertInto('verifications')
        .values({
          strategy: verification.strategy,
          challenge_hash: verification.challengeHash,
          subject_key: verification.subjectKey ?? null,
          state: JSON.stringify(verification.state),
          expires_at: sql<Date>`now() + make_interval(secs => ${verification.ttlSeconds})`,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    },

    async consume(strategy, challengeHash) {
      return (await consumeWhere(strategy).where('challenge_hash', '=', challengeHash).executeTakeFirst()) ?? null;
    },

    async consumeById(strategy, id) {
      if (!UUID.test(id)) return null;
      return (await consumeWhere(strategy).where('id', '=', id).executeTakeFirst()) ?? null;
    },

    async countRecent(strategy, subjectKey, windowSeconds) {
      const row = await db
        .selectFrom('verifications')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('strategy', '=', strategy)
        .where('subject_key', '=', subjectKey)
        .where('created_at', '>', sql<Date>`now() - make_interval(secs => ${windowSeconds})`)
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },
  };
}

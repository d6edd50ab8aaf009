import { sql } from 'kysely';
import type { Db, Tx } from '../../db/database.js';

/**
 * One batch of deletions of one kind. Answers how many rows went, or null when another node is
 * pruning that kind right now (it will finish the job; this run leaves it alone).
 */
export type PruneBatch = (cutoff: Date, limit: number) => Promise<number | null>;

export interface RetentionRepository {
  /**
   * Events dispatched before `cutoff` with no webhook delivery still to make (delivered, given up,
   * or for a revoked webhook); their delivery rows go with them (on delete cascade).
   */
  readonly deliveredEvents: PruneBatch;
  /** Sign-in challenges (used or not) that expired before `cutoff`. */
  readonly expiredVerifications: PruneBatch;
  /** Sessions past their absolute end before `cutoff`; their refresh tokens go with them. */
  readonly endedSessions: PruneBatch;
  /** Signed-in sessions whose idle end came before `cutoff`. */
  readonly idleSessions: PruneBatch;
  /** Signing keys retired before `cutoff` (never the current one). */
  readonly retiredSigningKeys: PruneBatch;
}

/** Advisory-lock class of pruning (`pg_try_advisory_xact_lock(class, kind)`), apart from any other use. */
const PRUNE_LOCK_CLASS = 0x7072756e; // "prun"

/** The second key of the lock: one per kind of row, so kinds are pruned side by side. */
const Kind = { Events: 1, Verifications: 2, Sessions: 3, IdleSessions: 4, SigningKeys: 5 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

/** How the webhook worker marks a delivery it gave up on (see webhook-repository.ts). */
const GIVEN_UP = sql<Date>`'infinity'::timestamptz`;

/**
 * Batched deletes, each in its own short transaction, so pruning a large backlog never holds locks
 * for long or builds one huge transaction. One node at a time prunes each kind (a transaction-scoped
 * advisory lock, tried and not waited for); inside a batch `for update skip locked` leaves alone any
 * row another transaction is using.
 */
export function createRetentionRepository(db: Db, options: { readonly webhookMaxAttempts: number }): RetentionRepository {
  const exclusively = (kind: Kind, remove: (trx: Tx) => Promise<bigint>): Promise<number | null> =>
    db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${PRUNE_LOCK_CLASS}::int4, ${kind}::int4) as locked`.execute(trx);
      if (!rows[0]?.locked) return null;
      return Number(await remove(trx));
    });

  const deleted = (result: { numDeletedRows: bigint }) => result.numDeletedRows;

  return {
    deliveredEvents: (cutoff, limit) =>
      exclusively(Kind.Events, async (trx) =>
        deleted(
          await trx
            .deleteFrom('outbox')
            .where('id', 'in', (eb) =>
              eb
                .selectFrom('outbox as o')
                .select('o.id')
                .where('o.dispatched_at', '<', cutoff)
                .where(({ not, exists, selectFrom }) =>
                  not(
                    exists(
                      selectFrom('webhook_deliveries as d')
                        .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
                        .select('d.event_id')
                        .whereRef('d.event_id', '=', 'o.id')
                        .where('d.delivered_at', 'is', null)
                        .where('d.next_attempt_at', '<>', GIVEN_UP)
                        .where('d.attempts', '<', options.webhookMaxAttempts)
                        .where('w.revoked_at', 'is', null),
                    ),
                  ),
                )
                .orderBy('o.dispatched_at')
                .limit(limit)
                .forUpdate()
                .skipLocked(),
            )
            .executeTakeFirstOrThrow(),
        ),
      ),

    expiredVerifications: (cutoff, limit) =>
      exclusively(Kind.Verifications, async (trx) =>
        deleted(
          await trx
            .deleteFrom('verifications')
            .where('id', 'in', (eb) =>
              eb.selectFrom('verifications').select('id').where('expires_at', '<', cutoff).orderBy('expires_at').limit(limit).forUpdate().skipLocked(),
            )
            .executeTakeFirstOrThrow(),
        ),
      ),

    endedSessions: (cutoff, limit) =>
      exclusively(Kind.Sessions, async (trx) =>
        deleted(
          await trx
            .deleteFrom('sessions')
            .where('id', 'in', (eb) =>
              eb.selectFrom('sessions').select('id').where('expires_at', '<', cutoff).orderBy('expires_at').limit(limit).forUpdate().skipLocked(),
            )
            .executeTakeFirstOrThrow(),
        ),
      ),

    idleSessions: (cutoff, limit) =>
      exclusively(Kind.IdleSessions, async (trx) =>
        deleted(
          await trx
            .deleteFrom('sessions')
            .where('id', 'in', (eb) =>
              eb
                .selectFrom('sessions')
                .select('id')
                .where('idle_timeout_seconds', 'is not', null)
                // The index narrows by last_seen_at alone; the idle end itself is per row.
                .where('last_seen_at', '<', cutoff)
                .where(sql<boolean>`last_seen_at + make_interval(secs => idle_timeout_seconds) < ${cutoff}`)
                .orderBy('last_seen_at')
                .limit(limit)
                .forUpdate()
                .skipLocked(),
            )
            .executeTakeFirstOrThrow(),
        ),
      ),

    retiredSigningKeys: (cutoff, limit) =>
      exclusively(Kind.SigningKeys, async (trx) =>
        deleted(
          await trx
            .deleteFrom('signing_keys')
            .where('kid', 'in', (eb) =>
              eb.selectFrom('signing_keys').select('kid').where('retired_at', '<', cutoff).limit(limit).forUpdate().skipLocked(),
            )
            .executeTakeFirstOrThrow(),
        ),
      ),
  };
}

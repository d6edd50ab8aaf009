import { sql } from 'kysely';
import type { Db, Tx } from '../../db/database.js';
import type { DeliveredEvent, EventType } from '../../events/event.js';
import { appendAudit, type AuditEntry } from '../audit/audit-repository.js';
import { wantsEvent, type WebhookDeliveryView, type WebhookSummary } from './webhook.js';

/** A delivery claimed for one attempt: what to send, where, and how to sign it. */
export interface ClaimedDelivery {
  readonly webhookId: string;
  readonly url: string;
  readonly secretSealed: Buffer;
  /** Counting this one. */
  readonly attempt: number;
  readonly event: DeliveredEvent;
}

export interface DeliveryKey {
  readonly eventId: string;
  readonly webhookId: string;
}

export interface WebhookRepository {
  create(
    webhook: { readonly id: string; readonly url: string; readonly secretSealed: Buffer; readonly eventTypes: readonly EventType[] },
    audit: Omit<AuditEntry, 'target'>,
  ): Promise<WebhookSummary>;
  list(): Promise<WebhookSummary[]>;
  /** False when there is no active webhook with this id. */
  revoke(id: string, at: Date, audit: Omit<AuditEntry, 'target'>): Promise<boolean>;
  /** The latest deliveries of a webhook, or null when the webhook does not exist. */
  deliveries(id: string, limit: number, maxAttempts: number): Promise<WebhookDeliveryView[] | null>;
  /** Inside the relay's transaction: one pending delivery per event and matching active webhook. */
  enqueue(trx: Tx, events: readonly DeliveredEvent[], at: Date): Promise<number>;
  /**
   * Claims due deliveries (skipping rows another node holds), counts the attempt and leases them
   * until `leaseUntil`: should this process die mid-request, the lease runs out and any node retries.
   */
  claimDue(now: Date, leaseUntil: Date, limit: number, maxAttempts: number): Promise<ClaimedDelivery[]>;
  recordDelivered(key: DeliveryKey, at: Date): Promise<void>;
  /** Records a failed attempt, to be retried at `retryAt`; null gives the delivery up for good. */
  recordFailed(key: DeliveryKey, error: string, retryAt: Date | null): Promise<void>;
}

type WebhookRow = { id: string; url: string; event_types: string[]; created_at: Date; revoked_at: Date | null };

const toSummary = (row: WebhookRow): WebhookSummary => ({
  id: row.id,
  url: row.url,
  eventTypes: row.event_types as EventType[],
  createdAt: row.created_at.toISOString(),
  revoked: row.revoked_at !== null,
});

/**
 * A given-up delivery is due "never": it leaves the range every claim scans (`next_attempt_at <= now`),
 * so a receiver that failed for good costs the polls nothing, however many deliveries it left behind.
 */
const GIVEN_UP = sql<Date>`'infinity'::timestamptz`;

const SUMMARY_COLUMNS = ['id', 'url', 'event_types', 'created_at', 'revoked_at'] as const;

export function createWebhookRepository(db: Db): WebhookRepository {
  return {
    create: (webhook, audit) =>
      db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('webhooks')
          .values({ id: webhook.id, url: webhook.url, secret_sealed: webhook.secretSealed, event_types: [...webhook.eventTypes] })
          .returning(SUMMARY_COLUMNS)
          .executeTakeFirstOrThrow();
        await appendAudit(trx, { ...audit, target: row.id });
        return toSummary(row);
      }),

    async list() {
      const rows = await db.selectFrom('webhooks').select(SUMMARY_COLUMNS).orderBy('created_at').orderBy('id').execute();
      return rows.map(toSummary);
    },

    revoke: (id, at, audit) =>
      db.transaction().execute(async (trx) => {
        const rows = await trx
          .updateTable('webhooks')
          .set({ revoked_at: at })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .returning('id')
          .execute();
        if (rows.length > 0) await appendAudit(trx, { ...audit, target: id });
        return rows.length > 0;
      }),

    async deliveries(id, limit, maxAttempts) {
      const webhook = await db.selectFrom('webhooks').select('id').where('id', '=', id).executeTakeFirst();
      if (!webhook) return null;
      const rows = await db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('outbox as o', 'o.id', 'd.event_id')
        .select(['d.event_id', 'o.type', 'o.seq', 'd.attempts', 'd.delivered_at', 'd.last_error'])
        .select(sql<Date | null>`nullif(d.next_attempt_at, ${GIVEN_UP})`.as('next_attempt_at'))
        .where('d.webhook_id', '=', id)
        .orderBy('o.seq', 'desc')
        .limit(limit)
        .execute();
      return rows.map((row) => {
        const failed = row.next_attempt_at === null || row.attempts >= maxAttempts;
        const status = row.delivered_at ? 'delivered' : failed ? 'failed' : 'pending';
        return {
          eventId: row.event_id,
          eventType: row.type,
          status,
          attempts: row.attempts,
          nextAttemptAt: status === 'pending' ? (row.next_attempt_at?.toISOString() ?? null) : null,
          deliveredAt: row.delivered_at?.toISOString() ?? null,
          lastError: row.last_error,
        };
      });
    },

    async enqueue(trx, events, at) {
      const webhooks = await trx.selectFrom('webhooks').select(['id', 'event_types']).where('revoked_at', 'is', null).execute();
      const rows = events.flatMap((event) =>
        webhooks
          .filter((webhook) => wantsEvent(webhook.event_types, event.type))
          .map((webhook) => ({ event_id: event.id, webhook_id: webhook.id, next_attempt_at: at })),
      );
      if (rows.length === 0) return 0;
      // A batch the relay delivers again finds its rows already there.
      await trx
        .insertInto('webhook_deliveries')
        .values(rows)
        .onConflict((conflict) => conflict.columns(['event_id', 'webhook_id']).doNothing())
        .execute();
      return rows.length;
    },

    claimDue: (now, leaseUntil, limit, maxAttempts) =>
      db.transaction().execute(async (trx) => {
        const rows = await trx
          .selectFrom('webhook_deliveries as d')
          .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
          .innerJoin('outbox as o', 'o.id', 'd.event_id')
          .select(['d.event_id', 'd.webhook_id', 'd.attempts', 'w.url', 'w.secret_sealed', 'o.type', 'o.payload', 'o.occurred_at'])
          .where('d.delivered_at', 'is', null)
          .where('d.next_attempt_at', '<=', now)
          .where('d.attempts', '<', maxAttempts)
          .where('w.revoked_at', 'is', null)
          .orderBy('d.next_attempt_at')
          .limit(limit)
          // Only the delivery rows: locking outbox or webhook rows would stall the relay and admins.
          .forUpdate('d')
          .skipLocked()
          .execute();
        if (rows.length === 0) return [];
        await trx
          .updateTable('webhook_deliveries')
          .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: leaseUntil }))
          .where(({ eb, refTuple, tuple }) =>
            eb(
              refTuple('event_id', 'webhook_id'),
              'in',
              rows.map((row) => tuple(row.event_id, row.webhook_id)),
            ),
          )
          .execute();
        return rows.map((row) => ({
          webhookId: row.webhook_id,
          url: row.url,
          secretSealed: row.secret_sealed,
          attempt: row.attempts + 1,
          event: { id: row.event_id, type: row.type as EventType, payload: row.payload, occurredAt: row.occurred_at.toISOString() },
        }));
      }),

    async recordDelivered(key, at) {
      await db
        .updateTable('webhook_deliveries')
        .set({ delivered_at: at, last_error: null })
        .where('event_id', '=', key.eventId)
        .where('webhook_id', '=', key.webhookId)
        .execute();
    },

    async recordFailed(key, error, retryAt) {
      await db
        .updateTable('webhook_deliveries')
        .set({ last_error: error, next_attempt_at: retryAt ?? GIVEN_UP })
        .where('event_id', '=', key.eventId)
        .where('webhook_id', '=', key.webhookId)
        .execute();
    },
  };
}

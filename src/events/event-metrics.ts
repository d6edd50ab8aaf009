import { Counter, Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/database.js';

export interface EventMetrics {
  /** Events each sink accepted (a batch delivered again counts again: delivery is at least once). */
  readonly delivered: Counter<'sink'>;
  readonly webhookAttempts: Counter<'outcome'>;
}

/** Counters for delivery, and the outbox backlog read from the database at each scrape. */
export function createEventMetrics(registry: Registry, db: Db): EventMetrics {
  new Gauge({
    name: 'personae_outbox_backlog',
    help: 'Events committed but not yet dispatched by any relay.',
    registers: [registry],
    async collect() {
      try {
        const row = await db
          .selectFrom('outbox')
          .select((eb) => eb.fn.countAll<string>().as('pending'))
          .where('dispatched_at', 'is', null)
          .executeTakeFirstOrThrow();
        this.set(Number(row.pending));
      } catch {
        // An unreachable database shows in /readyz; the scrape keeps the last known value.
      }
    },
  });
  return {
    delivered: new Counter({
      name: 'personae_events_delivered_total',
      help: 'Events handed to a sink (in-process, nats, webhooks) in a batch that the sink accepted.',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    webhookAttempts: new Counter({
      name: 'personae_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome (delivered, retrying, gave_up).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}

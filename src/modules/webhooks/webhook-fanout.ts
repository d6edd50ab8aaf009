import type { Clock } from '../../clock.js';
import type { Tx } from '../../db/database.js';
import type { DeliveredEvent } from '../../events/event.js';
import type { EventSink } from '../../events/relay.js';
import type { WebhookRepository } from './webhook-repository.js';

/**
 * The relay's webhook sink: it sends nothing itself. Inside the relay's transaction it records one
 * pending delivery per event and matching webhook, so "dispatched" and "queued for every webhook"
 * commit together; the webhook worker then sends them on its own schedule, with its own retries, and
 * one slow receiver never holds back the outbox.
 */
export function createWebhookFanout(webhooks: WebhookRepository, clock: Clock): EventSink {
  return {
    name: 'webhooks',
    async deliver(events: readonly DeliveredEvent[], trx: Tx) {
      await webhooks.enqueue(trx, events, clock.now());
    },
  };
}

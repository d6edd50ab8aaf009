import { randomUUID } from 'node:crypto';
import { AppError } from '../../errors.js';
import type { EventType } from '../../events/event.js';
import type { Clock } from '../../clock.js';
import type { Actor } from '../audit/audit-repository.js';
import { webhookUrlProblem, type WebhookDeliveryView, type WebhookSummary } from './webhook.js';
import type { WebhookRepository } from './webhook-repository.js';
import type { WebhookSecretBox } from './webhook-secret-box.js';
import { generateWebhookSecret } from './webhook-signature.js';

const DELIVERIES_SHOWN = 50;

export interface WebhookService {
  /** Registers a webhook; the answer carries its signing secret, which is never shown again. */
  create(input: { readonly url: string; readonly eventTypes: readonly EventType[] }, admin: Actor): Promise<{ webhook: WebhookSummary; secret: string }>;
  list(): Promise<WebhookSummary[]>;
  /** Stops deliveries to the webhook, pending ones included. */
  revoke(id: string, admin: Actor): Promise<void>;
  /** The latest deliveries, newest event first. */
  deliveries(id: string): Promise<WebhookDeliveryView[]>;
}

export interface WebhookServiceDeps {
  readonly webhooks: WebhookRepository;
  readonly secrets: WebhookSecretBox;
  readonly clock: Clock;
  readonly maxAttempts: number;
}

export function createWebhookService({ webhooks, secrets, clock, maxAttempts }: WebhookServiceDeps): WebhookService {
  return {
    async create(input, admin) {
      const problem = webhookUrlProblem(input.url);
      if (problem) throw new AppError('VALIDATION_FAILED', `The webhook URL ${problem}.`);
      // The id is chosen here so the sealed secret can be bound to it before the row exists.
      const id = randomUUID();
      const secret = generateWebhookSecret();
      const eventTypes = [...new Set(input.eventTypes)];
      const webhook = await webhooks.create(
        { id, url: input.url, secretSealed: secrets.seal(id, secret), eventTypes },
        // The audit row names the receiver's origin only: a path or query may itself carry a secret.
        { ...admin, action: 'webhook.create', detail: { origin: new URL(input.url).origin, eventTypes } },
      );
      return { webhook, secret };
    },

    list: () => webhooks.list(),

    async revoke(id, admin) {
      const revoked = await webhooks.revoke(id, clock.now(), { ...admin, action: 'webhook.revoke' });
      if (!revoked) throw new AppError('WEBHOOK_NOT_FOUND', 'No active webhook has this id.');
    },

    async deliveries(id) {
      const found = await webhooks.deliveries(id, DELIVERIES_SHOWN, maxAttempts);
      if (!found) throw new AppError('WEBHOOK_NOT_FOUND', 'No webhook has this id.');
      return found;
    },
  };
}

import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { createWebhookFanout } from '../modules/webhooks/webhook-fanout.js';
import { createWebhookRepository } from '../modules/webhooks/webhook-repository.js';
import { WebhookSecretBox } from '../modules/webhooks/webhook-secret-box.js';
import { createWebhookService, type WebhookService } from '../modules/webhooks/webhook-service.js';
import { WebhookWorker } from '../modules/webhooks/webhook-worker.js';
import { EventBus } from './event-bus.js';
import { createEventMetrics } from './event-metrics.js';
import { NatsSink } from './nats-sink.js';
import { OutboxRelay, type EventSink } from './relay.js';

/** The longest pause between retries of a failing webhook. */
const WEBHOOK_MAX_DELAY_MS = 3_600_000;

export interface EventLog {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  debug(details: Record<string, unknown>, message: string): void;
}

/** Everything that happens to events after they commit, started and stopped as one. */
export interface EventDelivery {
  /** In-process subscribers. */
  readonly bus: EventBus;
  readonly relay: OutboxRelay;
  readonly webhookWorker: WebhookWorker;
  readonly webhooks: WebhookService;
  /** The NATS sink, when NATS_URL is set. */
  readonly nats: NatsSink | undefined;
  start(): void;
  /** Stops the webhook worker and the relay (each after its work in flight), then closes NATS. */
  stop(): Promise<void>;
}

export interface EventDeliveryDeps {
  readonly config: Config;
  readonly db: Db;
  readonly clock: Clock;
  readonly log: EventLog;
  readonly registry: Registry;
}

/**
 * The outbox relay with its sinks in delivery order: webhook fan-out first (rows in the relay's own
 * transaction, cannot half-happen), then NATS (external: its failure rolls the batch back before
 * anything else saw it), then in-process subscribers.
 */
export function createEventDelivery({ config, db, clock, log, registry }: EventDeliveryDeps): EventDelivery {
  const metrics = createEventMetrics(registry, db);
  const bus = new EventBus(({ eventId, type, error }) =>
    log.warn({ eventId, type, error: error instanceof Error ? error.message : String(error) }, 'event subscriber failed; not retried'),
  );
  const nats = config.events.natsUrl
    ? new NatsSink({ url: config.events.natsUrl, subjectPrefix: config.events.natsSubjectPrefix, log })
    : undefined;

  const webhookRepository = createWebhookRepository(db);
  const secrets = new WebhookSecretBox(config.secrets.tokenHashKey);
  const retry = {
    maxAttempts: config.events.webhooks.maxAttempts,
    baseDelayMs: config.events.webhooks.retryBaseMs,
    maxDelayMs: Math.max(WEBHOOK_MAX_DELAY_MS, config.events.webhooks.retryBaseMs),
  };
  const webhookWorker = new WebhookWorker({
    webhooks: webhookRepository,
    secrets,
    clock,
    retry,
    timeoutMs: config.events.webhooks.timeoutMs,
    intervalMs: config.events.relayIntervalMs,
    log,
    onOutcome: (outcome) => metrics.webhookAttempts.inc({ outcome }),
  });
  const webhooks = createWebhookService({ webhooks: webhookRepository, secrets, clock, maxAttempts: retry.maxAttempts });

  const sinks: EventSink[] = [createWebhookFanout(webhookRepository, clock), ...(nats ? [nats] : []), bus];
  const relay = new OutboxRelay({
    db,
    sinks,
    clock,
    log,
    intervalMs: config.events.relayIntervalMs,
    onSinkDelivered: (sink, count) => metrics.delivered.inc({ sink }, count),
    afterCommit: () => webhookWorker.nudge(),
  });

  return {
    bus,
    relay,
    webhookWorker,
    webhooks,
    nats,
    start() {
      relay.start();
      webhookWorker.start();
    },
    async stop() {
      await Promise.all([webhookWorker.stop(), relay.stop()]);
      await nats?.close();
    },
  };
}

import type { Clock } from '../../clock.js';
import { serializeEvent } from '../../events/event.js';
import { PeriodicTask } from '../../events/periodic-task.js';
import { nextAttemptAt, type RetryPolicy } from './webhook.js';
import type { ClaimedDelivery, WebhookRepository } from './webhook-repository.js';
import type { WebhookSecretBox } from './webhook-secret-box.js';
import { signWebhook, WEBHOOK_HEADERS } from './webhook-signature.js';

/** Extra lease beyond the request timeout, for the bookkeeping around a request. */
const LEASE_MARGIN_MS = 30_000;

export type DeliveryOutcome = 'delivered' | 'retrying' | 'gave_up';

export interface WebhookWorkerOptions {
  readonly webhooks: WebhookRepository;
  readonly secrets: WebhookSecretBox;
  readonly clock: Clock;
  readonly retry: RetryPolicy;
  /** The longest a receiver may take to answer. */
  readonly timeoutMs: number;
  /** How often due deliveries (retries) are looked for. */
  readonly intervalMs: number;
  readonly batchSize?: number;
  readonly log: {
    info(details: Record<string, unknown>, message: string): void;
    warn(details: Record<string, unknown>, message: string): void;
  };
  readonly onOutcome?: (outcome: DeliveryOutcome) => void;
  readonly random?: () => number;
}

/**
 * Sends pending webhook deliveries. Claims are row locks with `skip locked` plus a lease, so nodes
 * share the work and a node that dies mid-request leaves its deliveries to be retried. Each attempt
 * is a signed POST (Standard Webhooks headers) with a timeout; anything but a 2xx answer is a failure,
 * retried with exponential backoff and jitter until the attempts run out, then given up and recorded
 * in `last_error`. Receivers see the same `webhook-id` (the event id) on every attempt: delivery is at
 * least once, and the id is what makes their handling idempotent.
 */
export class WebhookWorker {
  private readonly task: PeriodicTask;
  private shutdown = new AbortController();
  /** Wake-ups for the retries this node scheduled, by due time (one timer per distinct time). */
  private readonly retryWakeups = new Map<number, NodeJS.Timeout>();

  constructor(private readonly options: WebhookWorkerOptions) {
    this.task = new PeriodicTask({
      round: () => this.deliverDue(),
      intervalMs: options.intervalMs,
      maxBackoffMs: 60_000,
      onError: (error, failures, retryInMs) =>
        options.log.warn({ error: error instanceof Error ? error.message : String(error), failures, retryInMs }, 'webhook worker failed'),
    });
  }

  start(): void {
    if (this.shutdown.signal.aborted) this.shutdown = new AbortController();
    this.task.start();
  }

  /** Deliveries were queued: look for them now rather than at the next poll. */
  nudge(): void {
    this.task.nudge();
  }

  /** Sends everything due now; answers how many attempts were made. */
  flush(): Promise<number> {
    return this.task.drain();
  }

  /** Interrupts requests in flight (they are retried later, here or on another node) and waits for their bookkeeping. */
  async stop(): Promise<void> {
    this.shutdown.abort();
    for (const timer of this.retryWakeups.values()) clearTimeout(timer);
    this.retryWakeups.clear();
    await this.task.stop();
  }

  /** One round: claim what is due and attempt each, side by side. Answers how many were attempted. */
  async deliverDue(): Promise<number> {
    const { webhooks, clock, retry, timeoutMs } = this.options;
    if (this.shutdown.signal.aborted) return 0;
    const now = clock.now();
    const leaseUntil = new Date(now.getTime() + timeoutMs + LEASE_MARGIN_MS);
    const claimed = await webhooks.claimDue(now, leaseUntil, this.options.batchSize ?? 20, retry.maxAttempts);
    // Settled, not raced: stop() must wait for every attempt's bookkeeping, even after one failed.
    const outcomes = await Promise.allSettled(claimed.map((delivery) => this.attempt(delivery)));
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw failure.reason;
    return claimed.length;
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const { webhooks, secrets, clock, retry } = this.options;
    const key = { eventId: delivery.event.id, webhookId: delivery.webhookId };
    const secret = secrets.open(delivery.webhookId, delivery.secretSealed);
    const error = secret === null ? 'signing secret unreadable (was TOKEN_HASH_KEY changed?)' : await this.post(delivery, secret);
    if (error === null) {
      await webhooks.recordDelivered(key, clock.now());
      this.options.onOutcome?.('delivered');
      return;
    }
    if (this.shutdown.signal.aborted) {
      // Not the receiver's fault: due again at once, for whichever node picks it up.
      await webhooks.recordFailed(key, error, clock.now());
      return;
    }
    const retryAt = nextAttemptAt(clock.now(), delivery.attempt, retry, this.options.random);
    const details = { webhookId: delivery.webhookId, eventId: delivery.event.id, attempt: delivery.attempt, error };
    if (retryAt) {
      await webhooks.recordFailed(key, error, retryAt);
      this.wakeAt(retryAt);
      this.options.log.info({ ...details, retryAt: retryAt.toISOString() }, 'webhook delivery failed; will retry');
      this.options.onOutcome?.('retrying');
    } else {
      await webhooks.recordFailed(key, `gave up after ${delivery.attempt} attempts: ${error}`, null);
      this.options.log.warn(details, 'webhook delivery given up');
      this.options.onOutcome?.('gave_up');
    }
  }

  /**
   * Looks for due work when a retry this node scheduled comes due, rather than at the next idle poll
   * (EVENT_RELAY_INTERVAL_MS, seconds): a retry is then sent on time. Another node's retries are
   * found by its own wake-ups, or by any node's poll should it have died.
   */
  private wakeAt(due: Date): void {
    const at = due.getTime();
    if (this.retryWakeups.has(at)) return;
    const timer = setTimeout(() => {
      this.retryWakeups.delete(at);
      this.nudge();
    }, Math.max(0, at - this.options.clock.now().getTime()));
    // Like the poll's own timer: a forgotten stop() must not keep a process alive.
    timer.unref();
    this.retryWakeups.set(at, timer);
  }

  /** One signed POST; answers null on a 2xx, else what went wrong (no response body: it is not ours to keep). */
  private async post(delivery: ClaimedDelivery, secret: string): Promise<string | null> {
    const body = serializeEvent(delivery.event);
    const timestamp = Math.floor(this.options.clock.now().getTime() / 1000);
    const { timeoutMs } = this.options;
    // The deadline is our own timer, raced against the request, not only a signal handed to fetch: a
    // signal that fetch follows can be collected under memory pressure and never fire
    // (nodejs/node#55428), and a receiver that never answers would then hold this round for good.
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const timeout = new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError');
        controller.abort(timeout);
        reject(timeout);
      }, timeoutMs);
    });
    const onShutdown = () => controller.abort(this.shutdown.signal.reason);
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    const request = fetch(delivery.url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'personae-webhooks/1',
        [WEBHOOK_HEADERS.id]: delivery.event.id,
        [WEBHOOK_HEADERS.timestamp]: String(timestamp),
        [WEBHOOK_HEADERS.signature]: signWebhook(secret, delivery.event.id, timestamp, body),
      },
      // A receiver must not be able to send our signed request on to another address.
      redirect: 'manual',
      signal: controller.signal,
    });
    try {
      const response = await Promise.race([request, deadline]);
      await response.body?.cancel();
      return response.status >= 200 && response.status < 300 ? null : `HTTP ${response.status}`;
    } catch (error) {
      // A request that lost the race may still settle later: its answer is dropped, unread.
      request.then((late) => late.body?.cancel(), () => undefined).catch(() => undefined);
      return describeFailure(error, timeoutMs);
    } finally {
      clearTimeout(timer);
      this.shutdown.signal.removeEventListener('abort', onShutdown);
    }
  }
}

function describeFailure(error: unknown, timeoutMs: number): string {
  const failure = error as { name?: string; message?: string; cause?: { code?: unknown } };
  if (failure.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (failure.name === 'AbortError') return 'interrupted by shutdown';
  if (typeof failure.cause?.code === 'string') return `network error: ${failure.cause.code}`;
  return `network error: ${failure.message ?? String(error)}`;
}

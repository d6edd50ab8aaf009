import type { EventType } from '../../events/event.js';
import { randomFraction } from '../../crypto/random-fraction.js';

/** A registered webhook as admins see it; its secret is shown once, at creation, and never again. */
export interface WebhookSummary {
  readonly id: string;
  readonly url: string;
  /** The event types it receives; empty means every type. */
  readonly eventTypes: EventType[];
  readonly createdAt: string;
  readonly revoked: boolean;
}

/** One event's delivery to one webhook, for operators looking into a failing receiver. */
export interface WebhookDeliveryView {
  readonly eventId: string;
  readonly eventType: string;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly attempts: number;
  readonly nextAttemptAt: string | null;
  readonly deliveredAt: string | null;
  readonly lastError: string | null;
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * Why a URL cannot be a webhook, or null when it can: absolute http(s), a host, no credentials (they
 * would sit in the database and in admin listings in the clear; receivers authenticate us by the
 * signature instead), no fragment (never sent).
 *
 * Private and loopback addresses are allowed on purpose: only admins register webhooks, and a
 * receiver on the operator's own network is the common case. The worker never follows redirects,
 * so a receiver cannot bounce requests elsewhere; egress limits belong in the network (docs/events.md).
 */
export function webhookUrlProblem(url: string): string | null {
  if (url.length > MAX_WEBHOOK_URL_LENGTH) return `is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not an absolute URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must use http or https';
  if (!parsed.hostname) return 'has no host';
  if (parsed.username || parsed.password) return 'must not carry credentials';
  if (parsed.hash) return 'must not carry a fragment';
  return null;
}

/** Whether a webhook subscribed to `eventTypes` receives an event of `type`. */
export function wantsEvent(eventTypes: readonly string[], type: string): boolean {
  return eventTypes.length === 0 || eventTypes.includes(type);
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  /** The pause after the first failure; each later one doubles, up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * When to try again after `attempts` failed attempts, or null to give up. Exponential backoff with
 * "equal jitter" (half fixed, half random): receivers recovering from an outage are not hit by every
 * retry at the same instant, and no pause is shorter than half its step.
 */
export function nextAttemptAt(now: Date, attempts: number, policy: RetryPolicy, random: () => number = randomFraction): Date | null {
  if (attempts >= policy.maxAttempts) return null;
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  return new Date(now.getTime() + Math.round(step / 2 + (step / 2) * random()));
}

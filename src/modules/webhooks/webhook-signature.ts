import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The Standard Webhooks signature scheme (https://www.standardwebhooks.com), as Svix and others use
 * it, so receivers can verify with an existing library: the secret is `whsec_` + base64 of random
 * bytes; the signature is HMAC-SHA256, keyed by those bytes, over `${id}.${timestamp}.${body}`, sent
 * as `webhook-signature: v1,<base64>`. Signing the id and the timestamp, not the body alone, means a
 * captured request cannot be replayed later (receivers reject old timestamps) or under another id.
 */
const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** The `webhook-signature` value for one attempt. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export interface SignedRequest {
  readonly id: string;
  readonly timestamp: string;
  /** Space-separated `v1,<base64>` entries (several during a secret rotation). */
  readonly signature: string;
  readonly body: string;
}

/**
 * What a receiver does: recompute the signature over the raw body, compare in constant time, and
 * refuse timestamps further than `toleranceSeconds` from now (replays). Used by the tests as a
 * receiver would; docs/events.md shows the same steps standing alone.
 */
export function verifyWebhook(secret: string, request: SignedRequest, nowSeconds: number, toleranceSeconds = 300): boolean {
  const timestamp = Number(request.timestamp);
  if (!/^\d+$/.test(request.timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, request.id, timestamp, request.body));
  return request.signature
    .split(' ')
    .map((entry) => Buffer.from(entry))
    .some((given) => given.length === expected.length && timingSafeEqual(given, expected));
}

import { hkdfSync } from 'node:crypto';
import { open, seal } from '../../crypto/sealed-box.js';

/** Versioned labels: a new derivation gets a new label rather than changing an old one. */
const SALT = Buffer.from('personae/webhook-secrets/v1');
const INFO = 'seal';

/**
 * Webhook signing secrets are stored sealed (AES-256-GCM), not hashed: the worker must read them back
 * to sign. The key is derived (HKDF-SHA256) from the server's token-hash key under its own label, so
 * it is never the same key as any other use of that secret. Each ciphertext is bound to its webhook's
 * id, so a sealed secret copied onto another row does not open.
 *
 * Rotating TOKEN_HASH_KEY makes existing webhook secrets unreadable: such webhooks must be registered
 * again (their deliveries fail with `signing secret unreadable` until then).
 */
export class WebhookSecretBox {
  private readonly key: Buffer;

  constructor(serverSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', Buffer.from(serverSecret, 'utf8'), SALT, INFO, 32));
  }

  seal(webhookId: string, secret: string): Buffer {
    return seal(this.key, Buffer.from(secret, 'utf8'), associatedData(webhookId));
  }

  /** The secret, or null when it was sealed under another key or for another webhook. */
  open(webhookId: string, sealed: Buffer): string | null {
    return open(this.key, sealed, associatedData(webhookId))?.toString('utf8') ?? null;
  }
}

function associatedData(webhookId: string): Buffer {
  return Buffer.from(`webhook:${webhookId}`, 'utf8');
}

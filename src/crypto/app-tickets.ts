import { hkdfSync } from 'node:crypto';
import { open, seal } from './sealed-box.js';

const PREFIX = 'at1.';
/** The exact shape: Node's base64url decoder skips stray characters, so check before decoding. */
const TICKET_SHAPE = /^at1\.[A-Za-z0-9_-]{40,380}$/;
const ASSOCIATED_DATA = Buffer.from('personae/app-ticket/v1');

export interface AppTicket {
  /** The keyed hash that finds the visitor's session; never the token itself. */
  readonly tokenHash: Buffer;
  /** Whose hash it is: the anonymous guest's (an app may start it) or a signed-in session's. */
  readonly signedIn: boolean;
  readonly appId: string;
  readonly expiresAtSeconds: number;
}

/**
 * Tickets let a visitor's browser introduce them to one app without handing it their token. A
 * ticket is sealed (AES-256-GCM, fresh IV) under a key derived from the token-hash key, so an app
 * sees an opaque value that differs every time: it cannot act as the visitor, read the token hash,
 * or compare tickets with another app to join their users.
 */
export class AppTickets {
  readonly #key: Buffer;

  constructor(tokenHashKey: string) {
    this.#key = Buffer.from(hkdfSync('sha256', Buffer.from(tokenHashKey, 'utf8'), ASSOCIATED_DATA, 'app-ticket', 32));
  }

  issue(ticket: AppTicket): string {
    const plaintext = JSON.stringify({
      h: ticket.tokenHash.toString('base64url'),
      a: ticket.appId,
      e: ticket.expiresAtSeconds,
      ...(ticket.signedIn ? { s: 1 } : {}),
    });
    return PREFIX + seal(this.#key, Buffer.from(plaintext), ASSOCIATED_DATA).toString('base64url');
  }

  /** The ticket's contents, or null when it is malformed, tampered with or sealed by another key. */
  read(ticket: string): AppTicket | null {
    if (!TICKET_SHAPE.test(ticket)) return null;
    const plaintext = open(this.#key, Buffer.from(ticket.slice(PREFIX.length), 'base64url'), ASSOCIATED_DATA);
    if (!plaintext) return null;
    const { h, a, e, s } = JSON.parse(plaintext.toString('utf8')) as { h: string; a: string; e: number; s?: 1 };
    return { tokenHash: Buffer.from(h, 'base64url'), signedIn: s === 1, appId: a, expiresAtSeconds: e };
  }
}

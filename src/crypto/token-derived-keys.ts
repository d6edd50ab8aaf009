import { hkdfSync } from 'node:crypto';

/** Versioned labels: a new derivation gets a new label rather than changing an old one. */
const SALT = Buffer.from('personae/token-derived/v1');

export interface TokenDerivedKeys {
  /** Where the row lives: derivable only by whoever holds the token. */
  readonly lookupKey: Buffer;
  /** The AES-256-GCM key the row is sealed with. */
  readonly sealKey: Buffer;
}

/**
 * Keys derived (HKDF-SHA256) from the person's own token and nothing the server keeps. The database
 * stores only a keyed HMAC of the same token, which cannot be turned back into the token, so the
 * database together with every server key still cannot find or open a row derived here.
 */
export function deriveTokenKeys(token: string, purpose: string): TokenDerivedKeys {
  const ikm = Buffer.from(token, 'utf8');
  const derive = (use: string) => Buffer.from(hkdfSync('sha256', ikm, SALT, `${purpose}/${use}`, 32));
  return { lookupKey: derive('lookup'), sealKey: derive('seal') };
}

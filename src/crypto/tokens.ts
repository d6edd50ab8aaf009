import { createHmac, randomBytes } from 'node:crypto';
import { lengthPrefixed } from './length-prefixed.js';

/** 32 random bytes: 256 bits of entropy, far beyond guessing, as spec 000 asks. */
const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * What a stored hash is for; a hash made for one purpose never matches a lookup for another.
 * `email` keys an email account by its normalized address; `rate-limit` names an attempt counter
 * (a client address, an account) without keeping what it counts in the clear.
 */
export type TokenPurpose =
  | 'anonymous'
  | 'session'
  | 'api-key'
  | 'admin-token'
  | 'email'
  | 'rate-limit'
  /** A non-email account's identifier (`<type>:<identifier>`): the lookup key of wallets, social, passkeys, keys. */
  | 'account'
  /** A ceremony's secret part (code, nonce, state, WebAuthn challenge), as `<strategy>:<secret>`. */
  | 'challenge'
  | 'refresh-token';

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function isTokenShaped(value: string): boolean {
  return TOKEN_SHAPE.test(value);
}

/**
 * Keyed hashes of bearer secrets. The database keeps only these, so a copy of it cannot be
 * replayed as a cookie or key, and without the server key a stolen hash cannot even be checked
 * against a guessed token.
 */
export class TokenHasher {
  readonly #key: Buffer;

  constructor(key: string) {
    this.#key = Buffer.from(key, 'utf8');
  }

  hash(purpose: TokenPurpose, token: string): Buffer {
    return createHmac('sha256', this.#key).update(lengthPrefixed([purpose, token])).digest();
  }
}

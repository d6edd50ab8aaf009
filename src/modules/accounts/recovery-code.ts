import { randomInt } from 'node:crypto';
import type { TokenHasher } from '../../crypto/tokens.js';

/**
 * One-time recovery codes of an account without email (spec 004: email is optional), the pure
 * rules. A code is 12 characters of Crockford's base32 (no i, l, o, u: nothing to misread when
 * written on paper), shown as `xxxx-xxxx-xxxx`: 60 bits from node:crypto, far beyond guessing
 * under the login throttle.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GROUPS = 3;
const GROUP_LENGTH = 4;
const CANONICAL = new RegExp(`^[${ALPHABET}]{${GROUPS * GROUP_LENGTH}}$`);

/** A fresh set of codes, in the form shown to the person (once). */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    let raw = '';
    for (let i = 0; i < GROUPS * GROUP_LENGTH; i++) raw += ALPHABET[randomInt(ALPHABET.length)];
    return formatRecoveryCode(raw);
  });
}

function formatRecoveryCode(raw: string): string {
  return Array.from({ length: GROUPS }, (_, i) => raw.slice(i * GROUP_LENGTH, (i + 1) * GROUP_LENGTH)).join('-');
}

/**
 * The code as typed back: case, spaces and dashes do not matter, and the letters Crockford's
 * alphabet leaves out read as the digits they look like. Null when it cannot be a code.
 */
export function normalizeRecoveryCode(input: string): string | null {
  const raw = input
    .toLowerCase()
    .replace(/[\s-]/g, '')
    .replace(/[il]/g, '1')
    .replace(/o/g, '0');
  return CANONICAL.test(raw) ? formatRecoveryCode(raw) : null;
}

/**
 * The stored form: a keyed hash bound to the account, so a copy of the table can neither be
 * replayed nor tested against guesses without the server key, and one account's hash says nothing
 * about another's codes.
 */
export function recoveryCodeHash(hasher: TokenHasher, accountId: string, code: string): Buffer {
  return hasher.hash('challenge', `recovery-code:${accountId}:${code}`);
}

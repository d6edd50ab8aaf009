import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const comparisonKey = randomBytes(32);

/**
 * Compares two secrets in constant time. Both sides are MACed first so they have equal length and
 * the comparison leaks neither the length nor a matching prefix of the expected secret.
 */
export function secretsEqual(given: string, expected: string): boolean {
  const digest = (value: string) => createHmac('sha256', comparisonKey).update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

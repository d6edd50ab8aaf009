import { randomInt } from 'node:crypto';

const RANGE = 2 ** 47;

/**
 * A uniform number in [0, 1) from node:crypto. Retry jitter needs no secrecy, but one source of
 * randomness for the whole service is simpler to audit than two.
 */
export function randomFraction(): number {
  return randomInt(RANGE) / RANGE;
}

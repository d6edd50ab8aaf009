import type { LocalIdentityGeneration } from '../cache/identity-generation.js';
import type { AttemptLimiter, Reservation } from './attempt-limiter.js';

/** One public lookup counted against its client's limit, and the identity generation read with it. */
export interface LookupAdmission extends Reservation {
  /** Compared for equality only: a cached identity is served when it was stored under this value. */
  readonly generation: string;
}

/**
 * The one step a public lookup takes before it answers: count the attempt (exactly as
 * AttemptLimiter.reserve) and read the identity generation (see IdentityGeneration), together, so
 * the strict cache costs no extra round trip.
 */
export interface LookupGate {
  admit(key: string, limit: number, windowSeconds: number): Promise<LookupAdmission>;
}

/** The embedded gate: the process's limiter and its local generation; no round trip at all. */
export class LocalLookupGate implements LookupGate {
  readonly #limiter: Pick<AttemptLimiter, 'reserve'>;
  readonly #generation: LocalIdentityGeneration;

  constructor(limiter: Pick<AttemptLimiter, 'reserve'>, generation: LocalIdentityGeneration) {
    this.#limiter = limiter;
    this.#generation = generation;
  }

  async admit(key: string, limit: number, windowSeconds: number): Promise<LookupAdmission> {
    // Read first: a bump between the two steps then makes this lookup miss, never serve stale.
    const generation = this.#generation.current;
    return { ...(await this.#limiter.reserve(key, limit, windowSeconds)), generation };
  }
}

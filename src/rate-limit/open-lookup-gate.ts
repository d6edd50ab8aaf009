import type { InvalidationBus } from '../cache/invalidation-bus.js';
import { LocalIdentityGeneration, type IdentityGeneration } from '../cache/identity-generation.js';
import type { AttemptLimiter } from './attempt-limiter.js';
import { LocalLookupGate, type LookupGate } from './lookup-gate.js';
import { RedisAttemptLimiter } from './redis-attempt-limiter.js';

/** The public lookups' gate, and the generation every change to a public identity bumps. */
export interface LookupGating {
  readonly gate: LookupGate;
  readonly generation: IdentityGeneration;
  /**
   * Whether a lookup's generation is the same for every node of the deployment, so a cache may
   * serve from it: yes with Redis (one shared key) and on the embedded database (one process);
   * no with PostgreSQL and no Redis, where several nodes may each count their own.
   */
  readonly sharedByEveryNode: boolean;
}

/** On the limiter's store: Redis (one script per lookup) when the service has it, else this process. */
export function openLookupGate(limiter: AttemptLimiter, bus: InvalidationBus, embedded: boolean): LookupGating {
  if (limiter instanceof RedisAttemptLimiter) {
    const gate = limiter.lookupGate();
    return { gate, generation: gate, sharedByEveryNode: true };
  }
  const generation = new LocalIdentityGeneration(bus);
  return { gate: new LocalLookupGate(limiter, generation), generation, sharedByEveryNode: embedded };
}

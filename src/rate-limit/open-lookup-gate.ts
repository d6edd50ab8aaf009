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
   * Whether a lookup's generation moves on every node of the deployment before a change is answered,
   * so a cache may serve from it: yes with Redis (one shared key), on the embedded database (one
   * process), and with a bus that confirms across nodes (PostgreSQL LISTEN/NOTIFY: every node counts
   * each bump before it returns); no with an in-memory bus on a server database, where several
   * nodes may each count their own.
   */
  readonly sharedByEveryNode: boolean;
}

/**
 * On the limiter's store: Redis (one script per lookup) when the service has it, else this process:
 * then the lookup limits are counted per node (a client spreading its lookups over N nodes gets N
 * times the limit), and the generation is counted per node from the bus's messages.
 */
export function openLookupGate(limiter: AttemptLimiter, bus: InvalidationBus, embedded: boolean): LookupGating {
  if (limiter instanceof RedisAttemptLimiter) {
    const gate = limiter.lookupGate();
    return { gate, generation: gate, sharedByEveryNode: true };
  }
  const generation = new LocalIdentityGeneration(bus);
  return { gate: new LocalLookupGate(limiter, generation), generation, sharedByEveryNode: embedded || bus.confirmsAcrossNodes };
}

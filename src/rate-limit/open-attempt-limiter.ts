import type { Clock } from '../clock.js';
import { MemoryAttemptLimiter, type AttemptLimiter } from './attempt-limiter.js';
import { RedisAttemptLimiter } from './redis-attempt-limiter.js';

/**
 * Redis when the service has one (every node then shares the counters: a limit of 5 is 5 across the
 * cluster, not 5 per node), else the process's own memory.
 */
export async function openAttemptLimiter(redisUrl: string | undefined, clock: Clock): Promise<AttemptLimiter> {
  return redisUrl ? RedisAttemptLimiter.connect(redisUrl) : new MemoryAttemptLimiter(clock);
}

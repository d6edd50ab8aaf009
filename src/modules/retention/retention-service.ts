import type { Clock } from '../../clock.js';
import { pruneCutoffs, type RetentionPolicy } from './retention.js';
import type { PruneBatch, RetentionRepository } from './retention-repository.js';

export interface PruneReport {
  readonly events: number;
  readonly verifications: number;
  readonly sessions: number;
  readonly signingKeys: number;
}

export interface RetentionService {
  /**
   * Deletes every row past its retention, batch after batch until none is left. Safe on several
   * nodes at once: each kind is pruned by one node at a time, and a second run finds nothing to do.
   */
  prune(): Promise<PruneReport>;
}

export interface RetentionServiceDeps {
  readonly retention: RetentionRepository;
  readonly policy: RetentionPolicy;
  readonly clock: Clock;
  readonly batchSize?: number;
}

export function createRetentionService({ retention, policy, clock, batchSize = 500 }: RetentionServiceDeps): RetentionService {
  /** Batches until one comes back short (nothing left) or the kind is another node's right now. */
  const drain = async (batch: PruneBatch, cutoff: Date): Promise<number> => {
    let total = 0;
    for (;;) {
      const removed = await batch(cutoff, batchSize);
      if (removed === null) return total;
      total += removed;
      if (removed < batchSize) return total;
    }
  };

  return {
    async prune() {
      const cutoffs = pruneCutoffs(policy, clock.now());
      return {
        events: await drain(retention.deliveredEvents, cutoffs.events),
        verifications: await drain(retention.expiredVerifications, cutoffs.verifications),
        sessions: (await drain(retention.endedSessions, cutoffs.sessions)) + (await drain(retention.idleSessions, cutoffs.sessions)),
        signingKeys: await drain(retention.retiredSigningKeys, cutoffs.signingKeys),
      };
    },
  };
}

import type { Clock } from '../../clock.js';
import type { PurgeRepository } from './purge-repository.js';

export interface PurgeReport {
  readonly purged: number;
  readonly holdsReleased: number;
  /** Retired sign-in methods forgotten: their clean person is gone for good. */
  readonly retiredMethodsForgotten: number;
}

export interface PurgeService {
  /**
   * Hard-deletes every persona past its grace or purge period, except those under a legal hold or
   * with an open appeal (DESIGN §2b). Idempotent: a second run finds nothing left to do, and runs on
   * several nodes at once never purge (or announce) one persona twice.
   */
  run(): Promise<PurgeReport>;
}

export interface PurgeServiceDeps {
  readonly purge: PurgeRepository;
  readonly clock: Clock;
  readonly batchSize?: number;
}

export function createPurgeService({ purge, clock, batchSize = 100 }: PurgeServiceDeps): PurgeService {
  return {
    async run() {
      const now = clock.now();
      let purged = 0;
      for (;;) {
        const due = await purge.dueIds(now, batchSize);
        let purgedNow = 0;
        // One transaction per persona: a failure leaves the others purged, and each event commits with its deletion.
        for (const id of due) if (await purge.purge(id, now)) purgedNow++;
        purged += purgedNow;
        // A full batch may have more behind it; a batch that purged nothing means the rest are taken elsewhere.
        if (due.length < batchSize || purgedNow === 0) break;
      }
      return {
        purged,
        holdsReleased: await purge.dropExpiredHolds(now),
        retiredMethodsForgotten: await purge.dropSpentRetiredMethods(),
      };
    },
  };
}

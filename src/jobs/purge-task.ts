import type { FastifyBaseLogger } from 'fastify';
import type { PurgeService } from '../modules/personas/purge-service.js';

export interface PurgeTask {
  /** Stops the timer and waits for a run in progress to finish. */
  stop(): Promise<void>;
}

/**
 * Runs the purge every `intervalSeconds` inside the service process (the first run one interval after
 * start, so starting is never slowed). Runs never overlap; the timer is unref'd so it never holds the
 * process open. With several nodes each runs it: the purge itself is safe to run concurrently.
 */
export function schedulePurge(purge: PurgeService, intervalSeconds: number, logger: FastifyBaseLogger): PurgeTask {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = purge
      .run()
      .then(
        (report) => {
          if (report.purged > 0 || report.holdsReleased > 0 || report.retiredMethodsForgotten > 0) logger.info({ ...report }, 'purge finished');
        },
        (error: unknown) => logger.error({ err: error }, 'purge failed'),
      )
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, intervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

import type { FastifyBaseLogger } from 'fastify';

export interface PeriodicTask {
  /** Stops the timer and waits for a run in progress to finish. */
  stop(): Promise<void>;
}

/**
 * Runs `run` every `intervalSeconds` inside the service process: the first run one interval after
 * start (so starting is never slowed), runs never overlap, and the timer is unref'd so it never holds
 * the process open. A report worth telling (`worthLogging`) is logged as `<name> finished`.
 */
export function scheduleEvery<Report extends object>(
  name: string,
  intervalSeconds: number,
  run: () => Promise<Report>,
  worthLogging: (report: Report) => boolean,
  logger: FastifyBaseLogger,
): PeriodicTask {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = run()
      .then(
        (report) => {
          if (worthLogging(report)) logger.info({ [name]: report }, `${name} finished`);
        },
        (error: unknown) => logger.error({ err: error }, `${name} failed`),
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

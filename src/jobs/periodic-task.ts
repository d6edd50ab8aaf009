import type { FastifyBaseLogger } from 'fastify';

export interface PeriodicTask {
  /** Stops the timer and waits for a run in progress to finish. */
  stop(): Promise<void>;
}

export interface ScheduleOptions {
  /**
   * Delays before the first runs, each counted from the run before (the first from start); then
   * every interval. Without them the first run comes one interval after start.
   */
  readonly firstRunsAfterSeconds?: readonly number[];
}

/**
 * Runs `run` every `intervalSeconds` inside the service process: the first run one interval after
 * start unless told otherwise (so starting is never slowed), runs never overlap, and the timer is
 * unref'd so it never holds the process open. A report worth telling (`worthLogging`) is logged as
 * `<name> finished`.
 */
export function scheduleEvery<Report extends object>(
  name: string,
  intervalSeconds: number,
  run: () => Promise<Report>,
  worthLogging: (report: Report) => boolean,
  logger: FastifyBaseLogger,
  { firstRunsAfterSeconds = [] }: ScheduleOptions = {},
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
  // One timer at a time, each set when the one before fires: a delay counts from the run before.
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const scheduleRun = (index: number) => {
    timer = setTimeout(() => {
      tick();
      if (!stopped) scheduleRun(index + 1);
    }, (firstRunsAfterSeconds[index] ?? intervalSeconds) * 1000);
    timer.unref();
  };
  scheduleRun(0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

import { randomFraction } from '../crypto/random-fraction.js';

export interface PeriodicTaskOptions {
  /** One round of work; answers how many items it handled (0: nothing left for now). */
  readonly round: () => Promise<number>;
  /** The pause between polls when idle. */
  readonly intervalMs: number;
  /** The longest pause after repeated failures. */
  readonly maxBackoffMs: number;
  /** Called after a failed round, with the number of failures in a row and the pause before the next try. */
  readonly onError: (error: unknown, failures: number, retryInMs: number) => void;
  readonly random?: () => number;
}

/**
 * Background work that polls, can be nudged, backs off on failure and stops cleanly: the relay and
 * the webhook worker both run on it. Rounds never overlap within one task (across nodes, row locks
 * keep them apart), and `stop()` waits for the round in flight instead of abandoning it mid-way.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private looping = false;
  private stopped = true;
  private nudged = false;
  private failures = 0;

  constructor(private readonly options: PeriodicTaskOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Asks for a round soon (new work is known to be there). Ignored while backing off from failures. */
  nudge(): void {
    if (this.stopped || this.failures > 0) return;
    if (this.looping) this.nudged = true;
    else this.schedule(0);
  }

  /** Runs rounds now until one finds nothing, after any round in flight; failures reach the caller. */
  async drain(): Promise<number> {
    let total = 0;
    for (let handled = await this.exclusive(); handled > 0; handled = await this.exclusive()) total += handled;
    this.failures = 0;
    return total;
  }

  /** Stops polling and waits for the round in flight to finish (commit or roll back). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  private exclusive(): Promise<number> {
    const result = this.chain.then(() => this.options.round());
    this.chain = result.catch(() => undefined);
    return result;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), delayMs);
    // A forgotten stop() must not keep a process alive; servers stay up on their own sockets.
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    this.timer = undefined;
    this.looping = true;
    let delayMs = this.options.intervalMs;
    try {
      for (;;) {
        this.nudged = false;
        if (this.stopped) break;
        const handled = await this.exclusive();
        if (handled === 0 && !this.nudged) break;
      }
      this.failures = 0;
    } catch (error) {
      this.failures += 1;
      delayMs = this.backoff();
      this.options.onError(error, this.failures, delayMs);
    } finally {
      this.looping = false;
      if (!this.stopped) this.schedule(delayMs);
    }
  }

  /** Exponential, capped, with jitter so that nodes failing together do not retry in lockstep. */
  private backoff(): number {
    const ceiling = Math.min(this.options.maxBackoffMs, this.options.intervalMs * 2 ** this.failures);
    return Math.round(ceiling * (0.5 + (this.options.random ?? randomFraction)() / 2));
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { PeriodicTask } from './periodic-task.js';

/** A round that hands out `work` items one per round, optionally failing first. */
function counter(options: { work?: number; failures?: number; roundMs?: number } = {}) {
  const state = { work: options.work ?? 0, failures: options.failures ?? 0, rounds: 0, running: 0, overlapped: false, errors: [] as number[] };
  const round = async () => {
    state.rounds += 1;
    state.running += 1;
    if (state.running > 1) state.overlapped = true;
    await sleep(options.roundMs ?? 1);
    state.running -= 1;
    if (state.failures > 0) {
      state.failures -= 1;
      throw new Error('sink down');
    }
    if (state.work === 0) return 0;
    state.work -= 1;
    return 1;
  };
  return { state, round };
}

describe('periodic task', () => {
  it('polls, drains all work in one go, and never overlaps rounds even when drained by hand meanwhile', async () => {
    const { state, round } = counter({ work: 5, roundMs: 5 });
    const task = new PeriodicTask({ round, intervalMs: 10_000, maxBackoffMs: 10_000, onError: () => undefined });
    task.start();
    const drained = await task.drain();
    await sleep(50);
    expect(state.work).toBe(0);
    expect(drained).toBeLessThanOrEqual(5);
    expect(state.overlapped).toBe(false);
    await task.stop();
  });

  it('runs soon when nudged instead of waiting for the interval', async () => {
    const { state, round } = counter();
    const task = new PeriodicTask({ round, intervalMs: 60_000, maxBackoffMs: 60_000, onError: () => undefined });
    task.start();
    await sleep(30);
    state.work = 2;
    task.nudge();
    await vi.waitFor(() => expect(state.work).toBe(0), { timeout: 1000 });
    await task.stop();
  });

  it('backs off after failures with growing pauses, ignores nudges meanwhile, and recovers', async () => {
    const { state, round } = counter({ work: 1, failures: 3 });
    const pauses: number[] = [];
    const task = new PeriodicTask({
      round,
      intervalMs: 20,
      maxBackoffMs: 1000,
      random: () => 1,
      onError: (_error, failures, retryInMs) => pauses.push(failures, retryInMs),
    });
    task.start();
    await sleep(10);
    task.nudge();
    await vi.waitFor(() => expect(state.work).toBe(0), { timeout: 5000 });
    expect(pauses).toEqual([1, 40, 2, 80, 3, 160]);
    await task.stop();
  });

  it('stop waits for the round in flight and ends polling', async () => {
    const { state, round } = counter({ work: 100, roundMs: 30 });
    const task = new PeriodicTask({ round, intervalMs: 10, maxBackoffMs: 10, onError: () => undefined });
    task.start();
    await sleep(40);
    await task.stop();
    expect(state.running).toBe(0);
    const rounds = state.rounds;
    await sleep(60);
    expect(state.rounds).toBe(rounds);
  });
});

import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createStatementBatcher, type RunBatch } from './statement-batcher.js';

/** A statement that doubles each number after `delayMs`, recording each batch and how many ran at once. */
function doubling(delayMs = 5) {
  const batches: number[][] = [];
  let running = 0;
  let mostAtOnce = 0;
  const run: RunBatch<number, number> = async (items) => {
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);
    batches.push([...items]);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    running--;
    return items.map((item) => item * 2);
  };
  return { run, batches, mostAtOnce: () => mostAtOnce };
}

describe('the statement batcher', () => {
  it('runs the items asked for in one turn as one statement, each answered its own result', async () => {
    const statement = doubling();
    const batch = createStatementBatcher(statement.run, { maxBatch: 64, concurrency: 1 });
    const results = await Promise.all([1, 2, 3, 4].map((n) => batch(n)));
    expect(results).toEqual([2, 4, 6, 8]);
    expect(statement.batches).toEqual([[1, 2, 3, 4]]);
  });

  it('runs a lone item on the next turn of the event loop, with no timer to wait out', async () => {
    const batch = createStatementBatcher<number, number>(async (items) => items, { maxBatch: 64, concurrency: 1 });
    let answered = false;
    void batch(7).then(() => (answered = true));
    expect(answered).toBe(false);
    await nextTurn();
    await nextTurn();
    expect(answered).toBe(true);
  });

  it('queues what arrives while the statements in flight run, and sends it as the next batch', async () => {
    const statement = doubling(20);
    const batch = createStatementBatcher(statement.run, { maxBatch: 64, concurrency: 2 });
    const first = [batch(1)];
    await nextTurn();
    await nextTurn();
    const second = [batch(2)];
    await nextTurn();
    await nextTurn();
    const queued = [3, 4, 5].map((n) => batch(n));
    expect(await Promise.all([...first, ...second, ...queued])).toEqual([2, 4, 6, 8, 10]);
    expect(statement.batches).toEqual([[1], [2], [3, 4, 5]]);
    expect(statement.mostAtOnce()).toBe(2);
  });

  it('never puts more than maxBatch items in one statement', async () => {
    const statement = doubling();
    const batch = createStatementBatcher(statement.run, { maxBatch: 3, concurrency: 4 });
    await Promise.all(Array.from({ length: 8 }, (_, n) => batch(n)));
    expect(statement.batches.map((items) => items.length)).toEqual([3, 3, 2]);
  });

  it('fails every item of a failed statement, and only those', async () => {
    const failing = new Error('connection lost');
    let statements = 0;
    const batch = createStatementBatcher<number, number>(
      async (items) => {
        statements++;
        if (statements === 1) throw failing;
        return items;
      },
      { maxBatch: 2, concurrency: 1 },
    );
    const answers = await Promise.allSettled([1, 2, 3].map((n) => batch(n)));
    expect(answers).toEqual([
      { status: 'rejected', reason: failing },
      { status: 'rejected', reason: failing },
      { status: 'fulfilled', value: 3 },
    ]);
  });

  it('settles an item answered with a promise by that promise alone', async () => {
    const batch = createStatementBatcher<number, number>(
      async (items) => items.map((item) => (item === 2 ? Promise.reject(new Error('two refused')) : item)),
      { maxBatch: 64, concurrency: 1 },
    );
    const answers = await Promise.allSettled([1, 2, 3].map((n) => batch(n)));
    expect(answers.map((answer) => answer.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('fails the batch when the statement answers a different number of results', async () => {
    const batch = createStatementBatcher<number, number>(async (items) => items.slice(1), { maxBatch: 64, concurrency: 1 });
    await expect(Promise.all([batch(1), batch(2)])).rejects.toThrow('a batch of 2 answered 1 results');
  });

  it('keeps going after a failed statement: the next items still run', async () => {
    let fail = true;
    const batch = createStatementBatcher<number, number>(
      async (items) => {
        if (fail) {
          fail = false;
          throw new Error('once');
        }
        return items;
      },
      { maxBatch: 64, concurrency: 1 },
    );
    await expect(batch(1)).rejects.toThrow('once');
    await expect(batch(2)).resolves.toBe(2);
  });
});

export interface BatchOptions {
  /** Most items in one statement. */
  readonly maxBatch: number;
  /** Statements in flight at once: 1 for the embedded database's single connection. */
  readonly concurrency: number;
}

/**
 * Runs one statement for a batch of items, and answers each item's result in the batch's order (a
 * promise, for an item whose outcome is its own: it then settles that item alone).
 */
export type RunBatch<Item, Result> = (items: readonly Item[]) => Promise<readonly (Result | Promise<Result>)[]>;

interface Pending<Item, Result> {
  readonly item: Item;
  readonly resolve: (result: Result | Promise<Result>) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group statements: the items that arrive in one turn of the event loop, or while `concurrency`
 * statements are already in flight, go to the database together, in one statement. Under load, the
 * cost of a statement (a round trip, a parse, a commit, a turn on the embedded database's one
 * connection) is paid once per batch instead of once per item; an idle service runs a lone item on
 * the next turn (no timer to wait out). A statement that fails fails every item of its batch.
 */
export function createStatementBatcher<Item, Result>(run: RunBatch<Item, Result>, options: BatchOptions): (item: Item) => Promise<Result> {
  const queue: Pending<Item, Result>[] = [];
  let inFlight = 0;
  let scheduled = false;

  async function runBatch(batch: readonly Pending<Item, Result>[]): Promise<void> {
    try {
      const results = await run(batch.map((pending) => pending.item));
      if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${results.length} results`);
      batch.forEach((pending, index) => pending.resolve(results[index]!));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }

  function pump(): void {
    scheduled = false;
    while (inFlight < options.concurrency && queue.length > 0) {
      inFlight++;
      void runBatch(queue.splice(0, options.maxBatch)).finally(() => {
        inFlight--;
        schedule();
      });
    }
  }

  /**
   * Statements start on the next turn of the event loop, after the I/O callbacks of this one: every
   * request that arrived meanwhile has joined the queue by then. Starting at once would run each
   * item alone, since the embedded database runs a statement synchronously, inside the very
   * callback of the request that asked for it, before the next request is even read.
   */
  function schedule(): void {
    if (scheduled || queue.length === 0) return;
    scheduled = true;
    setImmediate(pump);
  }

  return (item) =>
    new Promise<Result>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      schedule();
    });
}

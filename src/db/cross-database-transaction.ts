import type { Db, Tx } from './database.js';

/**
 * A territory on its own server (TERRITORY_DATABASE_URLS) shares no transaction with the global
 * database: a write there commits at once, whatever the global transaction does next. Such writes
 * come last in their global transaction (nothing that is likely to fail comes after them), and each
 * says here how to take it back: should the global transaction still fail (a later write, a trigger,
 * the commit itself), the undos run, newest first, and the territory keeps nothing the global
 * database does not know of. A removal that must not happen before the global commit (a row that
 * would otherwise be lost) waits for it instead (`afterCommit`).
 *
 * Only what runs through `crossDatabaseTransaction` is tracked. Undos run while the global
 * transaction still holds its locks when the work itself throws; a failing COMMIT can only be
 * answered after it, and a process that dies in between leaves the remote rows (unreachable: they
 * name accounts, sessions or tokens the global database never committed). An undo that fails (the
 * remote server gone as well) is given up the same way. Such rows are the orphan sweep's
 * (src/modules/orphans): it deletes them once older than any transaction can run.
 */
interface Pending {
  readonly undos: Array<() => Promise<unknown>>;
  readonly afterCommit: Array<() => Promise<unknown>>;
  undone: boolean;
}

const pendingOf = new WeakMap<Tx, Pending>();

/** Runs `work` in one global transaction, undoing its remote-territory writes if it does not commit. */
export async function crossDatabaseTransaction<T>(db: Db, work: (trx: Tx) => Promise<T>): Promise<T> {
  const pending: Pending = { undos: [], afterCommit: [], undone: false };
  const undo = async () => {
    if (pending.undone) return;
    pending.undone = true;
    for (const step of pending.undos.reverse()) await step().catch(() => undefined);
  };
  let result: T;
  try {
    result = await db.transaction().execute(async (trx) => {
      pendingOf.set(trx, pending);
      try {
        return await work(trx);
      } catch (error) {
        // Still inside the transaction: its row locks keep a territory move from copying the rows meanwhile.
        await undo();
        throw error;
      }
    });
  } catch (error) {
    await undo();
    throw error;
  }
  // Committed: the request succeeded, so a failing clean-up step is given up rather than reported.
  for (const step of pending.afterCommit) await step().catch(() => undefined);
  return result;
}

/** How to take back a write `trx` cannot roll back; a no-op outside `crossDatabaseTransaction`. */
export function undoIfAborted(trx: Tx, undo: () => Promise<unknown>): void {
  pendingOf.get(trx)?.undos.push(undo);
}

/** Runs `step` once `trx` has committed (never if it does not); at once outside `crossDatabaseTransaction`. */
export async function afterCommit(trx: Tx, step: () => Promise<unknown>): Promise<void> {
  const pending = pendingOf.get(trx);
  if (pending) pending.afterCommit.push(step);
  else await step();
}

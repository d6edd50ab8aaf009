import { sql } from 'kysely';
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
 * answered after it. A COMMIT whose answer was lost (the connection dropped) is looked up by its
 * transaction id on another connection: committed, the call succeeds; aborted, the undos run;
 * unknown, nothing is taken back (it might undo a change that did commit). A process that dies in
 * between, or an unknown outcome, leaves the remote rows (unreachable: they
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

/** How a global transaction runs; a parameter only so that tests can lose a COMMIT's answer. */
export type RunTransaction = <T>(db: Db, work: (trx: Tx) => Promise<T>) => Promise<T>;

const runTransaction: RunTransaction = (db, work) => db.transaction().execute(work);

/** Runs `work` in one global transaction, undoing its remote-territory writes if it does not commit. */
export async function crossDatabaseTransaction<T>(db: Db, work: (trx: Tx) => Promise<T>, run: RunTransaction = runTransaction): Promise<T> {
  const pending: Pending = { undos: [], afterCommit: [], undone: false };
  const undo = async () => {
    if (pending.undone) return;
    pending.undone = true;
    for (const step of pending.undos.reverse()) await step().catch(() => undefined);
  };
  let transactionId: string | null = null;
  let done: { readonly value: T } | null = null;
  let result: T;
  try {
    result = await run(db, async (trx) => {
      pendingOf.set(trx, pending);
      try {
        const value = await work(trx);
        // Only with remote writes to take back: the id lets a COMMIT whose answer was lost be looked up.
        if (pending.undos.length > 0) transactionId = await currentTransactionId(trx);
        done = { value };
        return value;
      } catch (error) {
        // Still inside the transaction: its row locks keep a territory move from copying the rows meanwhile.
        await undo();
        throw error;
      }
    });
  } catch (error) {
    const settled = done as { readonly value: T } | null;
    // The work succeeded and the COMMIT failed: the server may have refused it (an error with an
    // SQLSTATE) or the connection may have dropped before its answer, committed or not.
    const outcome = settled && !isServerError(error) && transactionId ? await commitOutcome(db, transactionId) : 'aborted';
    if (settled && outcome === 'committed') {
      result = settled.value;
    } else {
      // Unknown (the server unreachable, or still finishing): the remote rows stay. Taking them back
      // could undo a change that did commit (a password, a registration's credentials); rows whose
      // owner never committed are the orphan sweep's.
      if (outcome === 'aborted') await undo();
      throw error;
    }
  }
  // Committed: the request succeeded, so a failing clean-up step is given up rather than reported.
  for (const step of pending.afterCommit) await step().catch(() => undefined);
  return result;
}

async function currentTransactionId(trx: Tx): Promise<string> {
  const { rows } = await sql<{ id: string }>`select pg_current_xact_id()::text as id`.execute(trx);
  return rows[0]!.id;
}

/** A COMMIT's fate from another connection; 'unknown' when that cannot be learnt now. */
async function commitOutcome(db: Db, transactionId: string): Promise<'committed' | 'aborted' | 'unknown'> {
  try {
    const { rows } = await sql<{ status: string | null }>`select pg_xact_status(${transactionId}::xid8) as status`.execute(db);
    const status = rows[0]?.status;
    return status === 'committed' ? 'committed' : status === 'aborted' ? 'aborted' : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** An error the server answered (it has an SQLSTATE): the transaction is known not to have committed. */
function isServerError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('severity' in error)) return false;
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
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

import type { CreateGuestResult, CreateGuestsResult, NewGuest } from './session-repository.js';

/**
 * Writes a batch of guests in one statement, all or none: `created`, or the reason the batch was
 * refused (the first unique violation met; which guest caused it is not known).
 */
export type InsertGuests = (guests: readonly NewGuest[]) => Promise<CreateGuestsResult>;

export interface GuestBatchOptions {
  /** Most guests in one statement. */
  readonly maxBatch: number;
  /** Statements in flight at once: 1 for the embedded database's single connection. */
  readonly concurrency: number;
}

interface Pending {
  readonly guest: NewGuest;
  readonly resolve: (result: CreateGuestResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for guest starts. A guest start is five small inserts; on their own, each costs a
 * statement, a commit (a WAL flush on PostgreSQL) and, on the embedded database, a turn on its one
 * connection, so concurrent starts queued behind each other. Here the starts that arrive in one turn
 * of the event loop, or while the writers are busy, are written together in one statement and one
 * commit; an idle service writes a lone start on the next turn (no timer to wait out).
 *
 * Each guest stays atomic (its rows commit together or not at all). A batch refused for a unique
 * violation (a taken name, a token started twice at once) is retried one guest at a time, so each
 * guest learns its own outcome and the others are written after all.
 */
export function createGuestBatcher(insert: InsertGuests, options: GuestBatchOptions): (guest: NewGuest) => Promise<CreateGuestResult> {
  const queue: Pending[] = [];
  let inFlight = 0;

  async function write(batch: readonly Pending[]): Promise<void> {
    let result: CreateGuestsResult;
    try {
      result = await insert(batch.map((pending) => pending.guest));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    if (result.created) {
      for (const pending of batch) {
        const sessionPublicId = result.sessionPublicIds.get(pending.guest.sessionId);
        if (sessionPublicId) pending.resolve({ created: true, sessionPublicId });
        else pending.reject(new Error('a written guest session was not returned by its insert'));
      }
    } else if (batch.length === 1) {
      batch[0]!.resolve(result);
    } else {
      await Promise.all(batch.map((pending) => write([pending])));
    }
  }

  let scheduled = false;

  function pump(): void {
    scheduled = false;
    while (inFlight < options.concurrency && queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch);
      inFlight++;
      void write(batch).finally(() => {
        inFlight--;
        schedule();
      });
    }
  }

  /**
   * Writes start on the next turn of the event loop, after the I/O callbacks of this one: every
   * request that arrived meanwhile has joined the queue by then. Starting at once would write each
   * guest alone, since the embedded database runs a statement synchronously, inside the very
   * callback of the request that asked for it, before the next request is even read.
   */
  function schedule(): void {
    if (scheduled || queue.length === 0) return;
    scheduled = true;
    setImmediate(pump);
  }

  return (guest) =>
    new Promise<CreateGuestResult>((resolve, reject) => {
      queue.push({ guest, resolve, reject });
      schedule();
    });
}

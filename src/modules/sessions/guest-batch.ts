import { createStatementBatcher, type BatchOptions } from '../../db/statement-batcher.js';
import type { CreateGuestResult, CreateGuestsResult, NewGuest } from './session-repository.js';

/**
 * Writes a batch of guests in one statement, all or none: `created`, or the reason the batch was
 * refused (the first unique violation met; which guest caused it is not known).
 */
export type InsertGuests = (guests: readonly NewGuest[]) => Promise<CreateGuestsResult>;

export type GuestBatchOptions = BatchOptions;

/**
 * Group commit for guest starts. A guest start is five small inserts; on their own, each costs a
 * statement, a commit (a WAL flush on PostgreSQL) and, on the embedded database, a turn on its one
 * connection, so concurrent starts queued behind each other. Here concurrent starts are written
 * together in one statement and one commit (see statement-batcher.ts).
 *
 * Each guest stays atomic (its rows commit together or not at all). A batch refused for a unique
 * violation (a taken name, a token started twice at once) is retried one guest at a time, so each
 * guest learns its own outcome and the others are written after all.
 */
export function createGuestBatcher(insert: InsertGuests, options: GuestBatchOptions): (guest: NewGuest) => Promise<CreateGuestResult> {
  async function write(guests: readonly NewGuest[]): Promise<readonly (CreateGuestResult | Promise<CreateGuestResult>)[]> {
    const result = await insert(guests);
    if (result.created) {
      return guests.map((guest) => {
        const sessionPublicId = result.sessionPublicIds.get(guest.sessionId);
        if (!sessionPublicId) throw new Error('a written guest session was not returned by its insert');
        return { created: true, sessionPublicId };
      });
    }
    if (guests.length === 1) return [result];
    // Each guest alone, to its own outcome; the batch's turn ends when every one has settled.
    const alone = guests.map(async (guest) => (await write([guest]))[0]!);
    await Promise.allSettled(alone);
    return alone;
  }
  return createStatementBatcher(write, options);
}

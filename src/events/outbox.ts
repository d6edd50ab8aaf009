import type { Tx } from '../db/database.js';
import type { NewEvent } from './event.js';

/**
 * Writes an event to the outbox. It takes a transaction, never a bare connection: the event commits
 * with the state change it describes, or neither does (DESIGN.md §2.7). The relay delivers it later.
 */
export async function appendEvent(trx: Tx, event: NewEvent): Promise<void> {
  await trx.insertInto('outbox').values({ type: event.type, payload: JSON.stringify(event.payload) }).execute();
}

import { sql } from 'kysely';
import type { Tx } from '../db/database.js';
import type { DeliveredEvent, EventPayloads, EventType } from './event.js';
import type { EventSink } from './relay.js';

/** An event of one known type, its payload typed. */
export type EventOf<T extends EventType> = DeliveredEvent & { readonly type: T; readonly payload: EventPayloads[T] };

/** What a handler may use besides the event: the relay's transaction, for any database work. */
export interface EventContext {
  readonly trx: Tx;
}

export type EventHandler<T extends EventType> = (event: EventOf<T>, context: EventContext) => void | Promise<void>;

/** What a failing subscriber is reported with: the event's id and type, never its payload. */
export type SubscriberFailure = (failure: { readonly eventId: string; readonly type: EventType; readonly error: unknown }) => void;

/**
 * In-process subscribers, fed by the outbox relay inside its transaction, before the batch is marked
 * dispatched.
 *
 * - At least once: a process that dies before the relay commits calls them again (on any node).
 * - Database work goes through `context.trx`: it commits together with "dispatched", so it happens
 *   exactly once. (Never through the service's own handle: the embedded database has one connection,
 *   held by this very transaction, and the query would wait forever.)
 * - Isolated: each call runs under a savepoint. A handler that throws has its database work undone,
 *   is reported, and is not retried, so one faulty subscriber never stalls the outbox for NATS,
 *   webhooks and the other subscribers. A subscriber that must not miss an event should record it
 *   first (in its own table, keyed by the event id, through `trx`) and do fallible work from there.
 *
 * Handlers run one at a time (they share the transaction's connection), events in order.
 */
export class EventBus implements EventSink {
  readonly name = 'in-process';
  private readonly handlers = new Map<EventType | '*', Set<EventHandler<EventType>>>();

  constructor(private readonly onFailure: SubscriberFailure = () => undefined) {}

  /** Calls `handler` for every event of `type` (`'*'`: every event). Answers a function that unsubscribes. */
  subscribe<T extends EventType>(type: T | '*', handler: EventHandler<T>): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
    }
    const entry = handler as EventHandler<EventType>;
    set.add(entry);
    return () => void set.delete(entry);
  }

  async deliver(events: readonly DeliveredEvent[], trx: Tx): Promise<void> {
    for (const event of events) {
      const handlers = [...(this.handlers.get(event.type) ?? []), ...(this.handlers.get('*') ?? [])];
      for (const handler of handlers) await this.call(handler, event as EventOf<EventType>, trx);
    }
  }

  private async call(handler: EventHandler<EventType>, event: EventOf<EventType>, trx: Tx): Promise<void> {
    await sql`savepoint event_subscriber`.execute(trx);
    try {
      await handler(event, { trx });
    } catch (error) {
      await sql`rollback to savepoint event_subscriber`.execute(trx);
      this.onFailure({ eventId: event.id, type: event.type, error });
      return;
    }
    await sql`release savepoint event_subscriber`.execute(trx);
  }
}

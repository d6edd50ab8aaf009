import type { Clock } from '../clock.js';
import type { Db, Tx } from '../db/database.js';
import type { DeliveredEvent, EventType } from './event.js';
import { PeriodicTask } from './periodic-task.js';

/**
 * Where the relay delivers. A sink is called inside the relay's transaction, before the batch is
 * marked dispatched: it must finish (a broker's ack, a row written with `trx`) before returning, and
 * throw to have the whole batch retried. It may see a batch again (at least once).
 */
export interface EventSink {
  readonly name: string;
  deliver(events: readonly DeliveredEvent[], trx: Tx): Promise<void>;
}

/** What the relay reports; never a payload. */
export interface RelayLog {
  warn(details: Record<string, unknown>, message: string): void;
  debug(details: Record<string, unknown>, message: string): void;
}

export interface RelayOptions {
  readonly db: Db;
  /** In delivery order; a failure in one rolls back the batch for all (they see it again). */
  readonly sinks: readonly EventSink[];
  readonly clock: Clock;
  readonly log: RelayLog;
  readonly intervalMs: number;
  readonly batchSize?: number;
  readonly maxBackoffMs?: number;
  /** Called after a batch committed (to nudge work that follows from it, count deliveries). */
  readonly afterCommit?: (events: readonly DeliveredEvent[]) => void;
  /** Called after each sink accepted a batch (before commit). */
  readonly onSinkDelivered?: (sink: string, count: number) => void;
}

/** A sink that failed, named so the log says which. */
export class SinkError extends Error {
  override readonly name = 'SinkError';

  constructor(
    readonly sink: string,
    cause: unknown,
  ) {
    super(`sink ${sink} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * The outbox relay. Each round, in one transaction: claim the oldest undispatched rows with
 * `for update skip locked` (so relays on other nodes take other rows, never the same ones at once),
 * hand them to every sink, mark them dispatched, commit. A crash or a failing sink before the commit
 * leaves the rows undispatched, and a later round (on any node) delivers them again: at least once.
 *
 * Order: rows are claimed by `seq`, so one relay delivers in commit-sequence order; with several
 * nodes, batches run side by side and consumers must not rely on a global order (ids make them
 * idempotent; payloads name the entity, so per-entity state can be reconciled).
 */
export class OutboxRelay {
  private readonly task: PeriodicTask;
  private readonly batchSize: number;

  constructor(private readonly options: RelayOptions) {
    this.batchSize = options.batchSize ?? 100;
    this.task = new PeriodicTask({
      round: () => this.dispatchBatch(),
      intervalMs: options.intervalMs,
      maxBackoffMs: options.maxBackoffMs ?? 60_000,
      onError: (error, failures, retryInMs) =>
        options.log.warn(
          { sink: error instanceof SinkError ? error.sink : undefined, error: errorSummary(error), failures, retryInMs },
          'event delivery failed; the batch stays in the outbox and will be retried',
        ),
    });
  }

  start(): void {
    this.task.start();
  }

  /** New events were committed: deliver soon rather than at the next poll. */
  nudge(): void {
    this.task.nudge();
  }

  /** Delivers everything pending now; answers how many events. Failures reach the caller. */
  flush(): Promise<number> {
    return this.task.drain();
  }

  /** Stops polling and waits for the batch in flight. */
  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One batch, in one transaction. Answers how many events it dispatched. */
  async dispatchBatch(): Promise<number> {
    const { db, sinks, clock } = this.options;
    const events = await db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('outbox')
        .select(['id', 'type', 'payload', 'occurred_at'])
        .where('dispatched_at', 'is', null)
        .orderBy('seq')
        .limit(this.batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return [];
      const batch: DeliveredEvent[] = rows.map((row) => ({
        id: row.id,
        type: row.type as EventType,
        payload: row.payload,
        occurredAt: row.occurred_at.toISOString(),
      }));
      for (const sink of sinks) {
        try {
          await sink.deliver(batch, trx);
        } catch (error) {
          throw new SinkError(sink.name, error);
        }
        this.options.onSinkDelivered?.(sink.name, batch.length);
      }
      await trx
        .updateTable('outbox')
        .set({ dispatched_at: clock.now() })
        .where('id', 'in', batch.map((event) => event.id))
        .execute();
      return batch;
    });
    if (events.length > 0) {
      this.options.log.debug({ events: events.length }, 'events dispatched');
      this.options.afterCommit?.(events);
    }
    return events.length;
  }
}

/** An error's name and message: enough to act on, and no payload (sinks never put one in a message). */
function errorSummary(error: unknown): { type: string; message: string } {
  const root = error instanceof SinkError && error.cause instanceof Error ? error.cause : error;
  return root instanceof Error ? { type: root.name, message: root.message } : { type: typeof root, message: String(root) };
}

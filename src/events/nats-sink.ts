import { jetstream, JetStreamApiCodes, JetStreamApiError, jetstreamManager, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { serializeEvent, type DeliveredEvent } from './event.js';
import type { EventSink } from './relay.js';

/** JetStream deduplicates a message id seen within this window (JetStream's own default). */
const DUPLICATE_WINDOW_MS = 120_000;

export interface NatsSinkOptions {
  readonly url: string;
  /** Events go to `<prefix>.<EventType>`; the stream holds `<prefix>.>`. */
  readonly subjectPrefix: string;
  /** How long to wait for a connection, and for each publish acknowledgement. */
  readonly timeoutMs?: number;
  readonly log: { info(details: Record<string, unknown>, message: string): void };
}

/** The stream for a prefix: `personae.events` → `PERSONAE_EVENTS` (stream names allow no dots). */
export function streamNameFor(subjectPrefix: string): string {
  return subjectPrefix.toUpperCase().replace(/[^A-Z0-9_-]/g, '_');
}

/**
 * Publishes events to NATS JetStream. Each message carries the event id as its `Nats-Msg-Id`, so a
 * batch the relay delivers twice (a crash after the publish, before the outbox commit) is stored
 * once: the server drops ids it saw within the duplicate window. A batch counts as delivered only
 * when every publish is acknowledged, that is, stored by the stream.
 *
 * The connection opens on first use, not at startup: with NATS down the service still starts, and
 * events wait in the outbox. Once open, the client reconnects by itself without limit.
 */
export class NatsSink implements EventSink {
  readonly name = 'nats';
  private opening: Promise<JetStreamClient> | undefined;
  private connection: NatsConnection | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: NatsSinkOptions) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  get streamName(): string {
    return streamNameFor(this.options.subjectPrefix);
  }

  async deliver(events: readonly DeliveredEvent[]): Promise<void> {
    const js = await this.client();
    // All published at once (one connection keeps their order), then every acknowledgement awaited.
    await Promise.all(
      events.map((event) =>
        js.publish(`${this.options.subjectPrefix}.${event.type}`, serializeEvent(event), { msgID: event.id, timeout: this.timeoutMs }),
      ),
    );
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    await opening?.catch(() => undefined);
    await this.connection?.close();
    this.connection = undefined;
  }

  private client(): Promise<JetStreamClient> {
    this.opening ??= this.open().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  private async open(): Promise<JetStreamClient> {
    const connection = await connect({
      servers: this.options.url,
      name: 'personae-outbox-relay',
      timeout: this.timeoutMs,
      reconnect: true,
      maxReconnectAttempts: -1,
    });
    try {
      await this.ensureStream(connection);
    } catch (error) {
      await connection.close();
      throw error;
    }
    this.connection = connection;
    this.watch(connection).catch(() => undefined);
    return jetstream(connection, { timeout: this.timeoutMs });
  }

  /** Creates the stream if missing; an existing one is left as the operator configured it. */
  private async ensureStream(connection: NatsConnection): Promise<void> {
    const manager = await jetstreamManager(connection, { timeout: this.timeoutMs });
    try {
      await manager.streams.info(this.streamName);
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
      // Two nodes racing here is fine: adding a stream with an identical configuration succeeds.
      await manager.streams.add({
        name: this.streamName,
        subjects: [`${this.options.subjectPrefix}.>`],
        storage: StorageType.File,
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      });
    }
  }

  /** Logs connection changes; if the connection ever closes for good, the next batch opens a new one. */
  private async watch(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') this.options.log.info({ status: status.type }, 'nats connection');
    }
    await connection.closed();
    if (this.connection === connection) {
      this.connection = undefined;
      this.opening = undefined;
    }
  }
}

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/**
 * Every message id (`Nats-Msg-Id`, the outbox event id) in a JetStream stream, read by a consumer
 * that is not the service's: what a downstream subscriber would see. Empty when the stream is absent.
 */
export async function idsInStream(url: string, stream: string): Promise<Set<string>> {
  const connection = await connect({ servers: url, timeout: 5000 });
  try {
    const manager = await jetstreamManager(connection, { timeout: 5000 });
    const info = await manager.streams.info(stream).catch(() => null);
    const ids = new Set<string>();
    if (!info || info.state.messages === 0) return ids;
    const consumer = await jetstream(connection).consumers.get(stream); // ordered, ephemeral
    let read = 0;
    while (read < info.state.messages) {
      let fetched = 0;
      for await (const message of await consumer.fetch({ max_messages: 500, expires: 2000 })) {
        const id = message.headers?.get('Nats-Msg-Id');
        if (id) ids.add(id);
        fetched++;
      }
      if (fetched === 0) break;
      read += fetched;
    }
    return ids;
  } finally {
    await connection.close();
  }
}

/** Removes a test's stream (its subjects are the test's own prefix). */
export async function deleteStream(url: string, stream: string): Promise<void> {
  const connection = await connect({ servers: url, timeout: 5000 });
  try {
    await (await jetstreamManager(connection)).streams.delete(stream).catch(() => undefined);
  } finally {
    await connection.close();
  }
}

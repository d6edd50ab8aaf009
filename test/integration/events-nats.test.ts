import { randomBytes, randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/events/event.js';
import { streamNameFor } from '../../src/events/nats-sink.js';
import { appendEvent } from '../../src/events/outbox.js';
import { startTestApp, type TestApp } from '../support/app.js';

const natsUrl = process.env.NATS_URL || undefined;

describe.runIf(natsUrl)('NATS JetStream (the machine\'s NATS server)', () => {
  // A prefix of its own, hence a stream of its own: parallel files and earlier runs do not mix in.
  const prefix = `personae_test_${randomBytes(4).toString('hex')}.events`;
  const stream = streamNameFor(prefix);
  let test: TestApp;
  let connection: NatsConnection;
  let manager: JetStreamManager;

  beforeAll(async () => {
    test = await startTestApp({ env: { NATS_URL: natsUrl ?? '', NATS_SUBJECT_PREFIX: prefix, EVENT_RELAY_INTERVAL_MS: '60000' } });
    connection = await connect({ servers: natsUrl });
    manager = await jetstreamManager(connection);
  });
  afterAll(async () => {
    await test?.close();
    await manager?.streams.delete(stream).catch(() => undefined);
    await connection?.close();
  });

  async function append(events: readonly NewEvent[]): Promise<string[]> {
    await test.database.db.transaction().execute(async (trx) => {
      for (const event of events) await appendEvent(trx, event);
    });
    const rows = await test.database.db.selectFrom('outbox').select(['id', 'seq']).where('dispatched_at', 'is', null).orderBy('seq').execute();
    return rows.map((row) => row.id);
  }

  /** Every message a fresh durable consumer finds in the stream, acked unless told otherwise. */
  async function consume(name: string, options: { ack?: boolean; ackWaitMs?: number; max?: number } = {}): Promise<JsMsg[]> {
    await manager.consumers.add(stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...(options.ackWaitMs ? { ack_wait: nanos(options.ackWaitMs) } : {}),
    });
    const consumer = await jetstream(connection).consumers.get(stream, name);
    const messages: JsMsg[] = [];
    for await (const message of await consumer.fetch({ max_messages: options.max ?? 100, expires: 1500 })) {
      messages.push(message);
      if (options.ack ?? true) message.ack();
    }
    return messages;
  }

  it('creates the stream, publishes each event to <prefix>.<type> with its id as Nats-Msg-Id, and the server drops redeliveries', async () => {
    const profileId = randomUUID();
    const ids = await append([
      { type: 'PersonBanned', payload: { accountabilityProfileId: profileId } },
      { type: 'PersonaPurged', payload: { personaId: randomUUID() } },
      { type: 'PersonUnbanned', payload: { accountabilityProfileId: profileId } },
    ]);
    expect(await test.app.events.relay.flush()).toBe(3);

    const info = await manager.streams.info(stream);
    expect(info.config.subjects).toEqual([`${prefix}.>`]);
    expect(info.state.messages).toBe(3);

    // The relay published, then "crashed" before its commit: the rows are undispatched again and a
    // relay delivers the same batch a second time. The stream stores each event once all the same.
    await test.database.db.updateTable('outbox').set({ dispatched_at: null }).where('id', 'in', ids).execute();
    expect(await test.app.events.relay.flush()).toBe(3);
    expect((await manager.streams.info(stream)).state.messages).toBe(3);

    const messages = await consume('exactly-once');
    expect(messages.map((message) => message.headers?.get('Nats-Msg-Id'))).toEqual(ids);
    expect(messages.map((message) => message.subject)).toEqual([
      `${prefix}.PersonBanned`,
      `${prefix}.PersonaPurged`,
      `${prefix}.PersonUnbanned`,
    ]);
    expect(messages[0]?.json()).toEqual({
      id: ids[0],
      type: 'PersonBanned',
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      payload: { accountabilityProfileId: profileId },
    });
    const dispatched = await test.database.db.selectFrom('outbox').select('id').where('dispatched_at', 'is', null).execute();
    expect(dispatched).toEqual([]);
  });

  it('a consumer that does not acknowledge gets the event again, under the same id (at least once)', async () => {
    const [id] = await append([{ type: 'PolicyChanged', payload: { name: 'max_personas_per_user', value: 4 } }]);
    await test.app.events.relay.flush();

    const firstTry = await consume('forgetful', { ack: false, ackWaitMs: 500 });
    const unacked = firstTry.find((message) => message.headers?.get('Nats-Msg-Id') === id);
    expect(unacked?.redelivered).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const consumer = await jetstream(connection).consumers.get(stream, 'forgetful');
    const again: JsMsg[] = [];
    for await (const message of await consumer.fetch({ max_messages: 100, expires: 1500 })) {
      again.push(message);
      message.ack();
    }
    const redelivered = again.find((message) => message.headers?.get('Nats-Msg-Id') === id);
    expect(redelivered?.redelivered).toBe(true);
    expect(redelivered?.json()).toEqual(unacked?.json());
  });
});

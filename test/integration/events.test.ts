import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { openDatabase, type Db, type Tx } from '../../src/db/database.js';
import type { DeliveredEvent, NewEvent } from '../../src/events/event.js';
import { EventBus } from '../../src/events/event-bus.js';
import { appendEvent } from '../../src/events/outbox.js';
import { appendAudit } from '../../src/modules/audit/audit-repository.js';
import { OutboxRelay, type EventSink, type RelayOptions } from '../../src/events/relay.js';
import { openTestDatabase, postgresUrl, type TestDatabase } from '../support/database.js';

/** Standalone relays over a database no app polls, so each test knows exactly which relay took what. */
let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.drop());

const banned = () => ({ type: 'PersonBanned', payload: { accountabilityProfileId: randomUUID() } }) satisfies NewEvent;

async function append(db: Db, events: readonly NewEvent[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const event of events) await appendEvent(trx, event);
  });
}

async function pendingCount(db: Db): Promise<number> {
  const rows = await db.selectFrom('outbox').select('id').where('dispatched_at', 'is', null).execute();
  return rows.length;
}

/** A sink that records what it was handed, and fails while `failures` lasts. */
function recordingSink(name: string, options: { failures?: number; delayMs?: number } = {}) {
  const seen: DeliveredEvent[] = [];
  let failures = options.failures ?? 0;
  const sink: EventSink = {
    name,
    async deliver(events) {
      if (options.delayMs) await sleep(options.delayMs);
      seen.push(...events);
      if (failures > 0) {
        failures -= 1;
        throw new Error(`${name} unavailable`);
      }
    },
  };
  return { sink, seen, ids: () => seen.map((event) => event.id) };
}

function capturedLog() {
  const lines: { level: string; details: Record<string, unknown>; message: string }[] = [];
  return {
    lines,
    warn: (details: Record<string, unknown>, message: string) => lines.push({ level: 'warn', details, message }),
    debug: (details: Record<string, unknown>, message: string) => lines.push({ level: 'debug', details, message }),
  };
}

function relayOn(db: Db, sinks: EventSink[], options: Partial<RelayOptions> = {}) {
  return new OutboxRelay({ db, sinks, clock: systemClock, log: capturedLog(), intervalMs: 60_000, ...options });
}

async function drainAll(db: Db): Promise<void> {
  await relayOn(db, []).flush();
}

describe('the outbox relay', () => {
  it('delivers committed events in sequence order to every sink and marks them dispatched', async () => {
    await drainAll(database.db);
    const events = Array.from({ length: 250 }, banned);
    await append(database.db, events);
    const first = recordingSink('first');
    const second = recordingSink('second');
    const relay = relayOn(database.db, [first.sink, second.sink], { batchSize: 100 });

    expect(await relay.flush()).toBe(250);
    const payloads = first.seen.map((event) => event.payload);
    expect(payloads).toEqual(events.map((event) => event.payload));
    expect(second.ids()).toEqual(first.ids());
    expect(new Set(first.ids()).size).toBe(250);
    expect(first.seen[0]).toEqual({ id: expect.any(String), type: 'PersonBanned', payload: events[0]?.payload, occurredAt: expect.any(String) });
    expect(await pendingCount(database.db)).toBe(0);
    expect(await relay.flush()).toBe(0);
    expect(first.seen).toHaveLength(250);
  });

  it('never delivers an event whose transaction rolled back', async () => {
    await drainAll(database.db);
    const marker = banned();
    await expect(
      database.db.transaction().execute(async (trx: Tx) => {
        await appendEvent(trx, marker);
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    await append(database.db, [banned()]);
    const sink = recordingSink('only');

    expect(await relayOn(database.db, [sink.sink]).flush()).toBe(1);
    expect(sink.seen.map((event) => event.payload)).not.toContainEqual(marker.payload);
    const stored = await database.db.selectFrom('outbox').select('payload').execute();
    expect(stored.map((row) => row.payload)).not.toContainEqual(marker.payload);
  });

  it('a failing sink rolls the batch back for every sink; the next round delivers it again (at least once)', async () => {
    await drainAll(database.db);
    await append(database.db, [banned(), banned()]);
    const before = recordingSink('before');
    const failing = recordingSink('failing', { failures: 1 });
    const relay = relayOn(database.db, [before.sink, failing.sink]);

    await expect(relay.flush()).rejects.toThrow('sink failing failed: failing unavailable');
    expect(await pendingCount(database.db)).toBe(2);
    expect(await relay.flush()).toBe(2);
    // The sink before the failure saw the batch twice; consumers tell repeats apart by the id.
    expect(before.ids()).toHaveLength(4);
    expect(new Set(before.ids()).size).toBe(2);
    expect(await pendingCount(database.db)).toBe(0);
  });

  it('events claimed by a relay that dies before committing are delivered by another', async () => {
    await drainAll(database.db);
    await append(database.db, [banned(), banned(), banned()]);
    const crashing = recordingSink('crashing', { failures: Number.POSITIVE_INFINITY });
    await expect(relayOn(database.db, [crashing.sink]).flush()).rejects.toThrow();
    const survivor = recordingSink('survivor');

    expect(await relayOn(database.db, [survivor.sink]).flush()).toBe(3);
    expect(survivor.ids()).toEqual(crashing.ids());
  });

  it('runs by itself: polls, backs off while a sink fails, then delivers; logs name the sink, never a payload', async () => {
    await drainAll(database.db);
    const event = banned();
    const flaky = recordingSink('flaky', { failures: 2 });
    const log = capturedLog();
    const relay = relayOn(database.db, [flaky.sink], { intervalMs: 20, log });
    relay.start();
    await append(database.db, [event]);
    await vi.waitFor(async () => expect(await pendingCount(database.db)).toBe(0), { timeout: 5000, interval: 20 });
    await relay.stop();

    const warnings = log.lines.filter((line) => line.level === 'warn');
    expect(warnings.map((line) => line.details)).toEqual([
      { sink: 'flaky', error: { type: 'Error', message: 'flaky unavailable' }, failures: 1, retryInMs: expect.any(Number) },
      { sink: 'flaky', error: { type: 'Error', message: 'flaky unavailable' }, failures: 2, retryInMs: expect.any(Number) },
    ]);
    expect(JSON.stringify(log.lines)).not.toContain(event.payload.accountabilityProfileId);
  });

  it('a nudge delivers at once instead of at the next poll', async () => {
    await drainAll(database.db);
    const sink = recordingSink('nudged');
    const relay = relayOn(database.db, [sink.sink], { intervalMs: 60_000 });
    relay.start();
    await sleep(50);
    await append(database.db, [banned()]);
    relay.nudge();
    await vi.waitFor(() => expect(sink.seen).toHaveLength(1), { timeout: 2000, interval: 10 });
    await relay.stop();
  });

  it('stop() waits for the batch in flight to commit', async () => {
    await drainAll(database.db);
    const slow = recordingSink('slow', { delayMs: 200 });
    const relay = relayOn(database.db, [slow.sink], { intervalMs: 10 });
    await append(database.db, [banned()]);
    relay.start();
    await sleep(50);
    await relay.stop();
    expect(slow.seen).toHaveLength(1);
    expect(await pendingCount(database.db)).toBe(0);
  });
});

describe('in-process subscribers', () => {
  const auditOf = async (target: string) =>
    (await database.db.selectFrom('audit_log').select('action').where('target', '=', target).execute()).map((row) => row.action);

  it('do database work in the relay\'s transaction; a failing one is undone and reported, the others kept', async () => {
    await drainAll(database.db);
    const failures: string[] = [];
    const bus = new EventBus(({ type, error }) => failures.push(`${type}: ${(error as Error).message}`));
    const target = randomUUID();
    const record = (action: string) => (_event: unknown, { trx }: { trx: Tx }) =>
      appendAudit(trx, { actor: 'system', correlationId: 'test', action, target });
    bus.subscribe('PersonBanned', record('kept.before'));
    bus.subscribe('PersonBanned', async (event, context) => {
      await record('undone')(event, context);
      throw new Error('subscriber bug');
    });
    bus.subscribe('PersonBanned', async (_event, { trx }) => {
      await sql`select * from no_such_table`.execute(trx);
    });
    bus.subscribe('*', record('kept.after'));
    await append(database.db, [banned()]);

    expect(await relayOn(database.db, [bus]).flush()).toBe(1);
    expect((await auditOf(target)).sort()).toEqual(['kept.after', 'kept.before']);
    expect(failures).toEqual(['PersonBanned: subscriber bug', expect.stringMatching(/^PersonBanned: .*no_such_table/)]);
    expect(await pendingCount(database.db)).toBe(0);
  });

  it('see a batch again, their database work included, when a later sink fails (at least once, effects once)', async () => {
    await drainAll(database.db);
    const bus = new EventBus();
    const target = randomUUID();
    let calls = 0;
    bus.subscribe('PersonBanned', async (_event, { trx }) => {
      calls += 1;
      await appendAudit(trx, { actor: 'system', correlationId: 'test', action: 'seen', target });
    });
    const failing = recordingSink('after-bus', { failures: 1 });
    await append(database.db, [banned()]);
    const relay = relayOn(database.db, [bus, failing.sink]);

    await expect(relay.flush()).rejects.toThrow('sink after-bus failed');
    expect(await relay.flush()).toBe(1);
    expect(calls).toBe(2);
    expect(await auditOf(target)).toEqual(['seen']);
  });
});

describe.runIf(postgresUrl)('two relays on one PostgreSQL server (two nodes)', () => {
  let other: Db;
  beforeAll(() => {
    other = openDatabase({ url: database.url, poolSize: 4 }).db;
  });
  afterAll(() => other.destroy());

  it('take disjoint batches: every event delivered, none by both, none by two at once', async () => {
    await drainAll(database.db);
    const total = 400;
    for (let i = 0; i < total; i += 50) await append(database.db, Array.from({ length: 50 }, banned));
    const inFlight = new Map<string, string>();
    const deliveredBy = new Map<string, string[]>();
    let overlaps = 0;
    const sinkFor = (node: string): EventSink => ({
      name: node,
      async deliver(events) {
        for (const event of events) {
          if (inFlight.has(event.id)) overlaps += 1;
          inFlight.set(event.id, node);
          deliveredBy.set(event.id, [...(deliveredBy.get(event.id) ?? []), node]);
        }
        // Hold the batch a while, so the other node's claims run while these rows are locked.
        await sleep(5 + Math.random() * 10);
        for (const event of events) inFlight.delete(event.id);
      },
    });
    const a = relayOn(database.db, [sinkFor('a')], { batchSize: 10 });
    const b = relayOn(other, [sinkFor('b')], { batchSize: 10 });

    const [byA, byB] = await Promise.all([a.flush(), b.flush()]);
    expect(byA + byB).toBe(total);
    expect(byA).toBeGreaterThan(0);
    expect(byB).toBeGreaterThan(0);
    expect(deliveredBy.size).toBe(total);
    expect([...deliveredBy.values()].filter((nodes) => nodes.length > 1)).toEqual([]);
    expect(overlaps).toBe(0);
    expect(await pendingCount(database.db)).toBe(0);
  });

  it('a relay whose connection dies mid-batch leaves its events to the other node', async () => {
    await drainAll(database.db);
    await append(database.db, [banned(), banned()]);
    // The doomed node's own pool (its killed session must not take this process down with it).
    const doomedDb = openDatabase({ url: database.url, poolSize: 2 }).db;
    const seenByDoomed: string[] = [];
    const doomed: EventSink = {
      name: 'doomed',
      async deliver(events, trx) {
        seenByDoomed.push(...events.map((event) => event.id));
        // The process "crashes": its database session is killed while the batch is claimed.
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        await sql`select pg_terminate_backend(${rows[0]?.pid})`.execute(other);
      },
    };
    await expect(relayOn(doomedDb, [doomed]).flush()).rejects.toThrow();
    await doomedDb.destroy();
    expect(seenByDoomed).toHaveLength(2);
    expect(await pendingCount(other)).toBe(2);

    const survivor = recordingSink('survivor');
    expect(await relayOn(other, [survivor.sink]).flush()).toBe(2);
    expect(survivor.ids().sort()).toEqual([...seenByDoomed].sort());
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../src/db/database.js';
import type { DeliveredEvent, NewEvent } from '../../src/events/event.js';
import type { EventOf } from '../../src/events/event-bus.js';
import { appendEvent } from '../../src/events/outbox.js';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';

let test: TestApp;
beforeAll(async () => {
  // Events written straight to the outbox (not by a request) wait for the relay's poll: make it short.
  test = await startTestApp({ env: { EVENT_RELAY_INTERVAL_MS: '200' } });
});
afterAll(() => test.close());

async function append(db: Db, events: readonly NewEvent[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const event of events) await appendEvent(trx, event);
  });
}

describe('in-process subscribers', () => {
  it('receive committed events by type or all of them, after the app started its relay', async () => {
    const profileId = randomUUID();
    const bans: EventOf<'PersonBanned'>[] = [];
    const all: DeliveredEvent[] = [];
    const stopBans = test.app.events.bus.subscribe('PersonBanned', (event) => void bans.push(event));
    const stopAll = test.app.events.bus.subscribe('*', (event) => void all.push(event));

    await append(test.database.db, [
      { type: 'PersonBanned', payload: { accountabilityProfileId: profileId } },
      { type: 'LegalHoldChanged', payload: { accountabilityProfileId: profileId, legalHold: true } },
    ]);
    // No flush: the relay polls on its own (EVENT_RELAY_INTERVAL_MS).
    await vi.waitFor(() => expect(all.filter((event) => event.payload.accountabilityProfileId === profileId)).toHaveLength(2), {
      timeout: 5000,
    });
    stopBans();
    stopAll();

    const mine = bans.filter((event) => event.payload.accountabilityProfileId === profileId);
    expect(mine).toEqual([
      { id: expect.any(String), type: 'PersonBanned', payload: { accountabilityProfileId: profileId }, occurredAt: expect.any(String) },
    ]);
    expect(all.map((event) => event.type)).toContain('LegalHoldChanged');
  });

  it('a request\'s events are delivered as it answers, without waiting for the relay\'s poll', async () => {
    const node = await startTestApp({ env: { EVENT_RELAY_INTERVAL_MS: '60000' } });
    try {
      const created: string[] = [];
      node.app.events.bus.subscribe('PersonaCreated', (event) => void created.push(event.payload.personaId));
      const visitor = new Visitor(node.app);
      await visitor.start();
      const answer = await visitor.request('POST', '/personas', { displayName: 'Second Otter' });
      expect(answer.statusCode).toBe(201);
      // A minute's poll would miss this by far: the request itself woke the relay.
      await vi.waitFor(() => expect(created).toContain(answer.json().persona.id), { timeout: 3000 });
    } finally {
      await node.close();
    }
  });

  it('a throwing subscriber is logged (id and type, no payload) and does not stop the others; it is not retried', async () => {
    const profileId = randomUUID();
    let thrown = 0;
    const received: string[] = [];
    const unsubscribe = [
      test.app.events.bus.subscribe('PersonUnbanned', () => {
        thrown += 1;
        throw new Error('subscriber bug');
      }),
      test.app.events.bus.subscribe('PersonUnbanned', async (event) => void received.push(event.payload.accountabilityProfileId)),
    ];
    await append(test.database.db, [{ type: 'PersonUnbanned', payload: { accountabilityProfileId: profileId } }]);
    await test.app.events.relay.flush();
    await test.app.events.relay.flush();
    unsubscribe.forEach((stop) => stop());

    expect(received).toContain(profileId);
    expect(thrown).toBe(1);
    const failure = test.logs.map((line) => JSON.parse(line)).find((line) => line.msg === 'event subscriber failed; not retried');
    expect(failure).toMatchObject({ level: 40, module: 'events', type: 'PersonUnbanned', eventId: expect.any(String), error: 'subscriber bug' });
    expect(test.logs.join('\n')).not.toContain(profileId);
    const pending = await test.database.db.selectFrom('outbox').select('id').where('dispatched_at', 'is', null).execute();
    expect(pending).toEqual([]);
  });
});

describe('what the outbox holds', () => {
  it('after real activity, no payload carries an email, a password, a token or a secret', async () => {
    const email = `ada.${randomUUID().slice(0, 8)}@example.org`;
    const password = `correct horse battery ${randomUUID()}`;
    const visitor = new Visitor(test.app);
    const { persona } = await visitor.start();
    const banned = await test.app.inject({
      method: 'POST',
      url: '/admin/bans',
      headers: test.adminHeaders,
      payload: { subject: { personaId: persona.id }, reason: 'spam' },
    });
    expect(banned.statusCode).toBe(200);
    await test.app.inject({ method: 'POST', url: '/admin/bans/lift', headers: test.adminHeaders, payload: { subject: { personaId: persona.id } } });
    // Registration is another area's route; when present, it is the activity most likely to leak an email.
    const registered = await new Visitor(test.app).request('POST', '/auth/register', { email, password, initialDisplayName: 'Ada' });
    const webhook = await test.app.inject({
      method: 'POST',
      url: '/admin/webhooks',
      headers: test.adminHeaders,
      payload: { url: 'http://127.0.0.1:9/unused' },
    });
    await test.app.events.relay.flush();

    const rows = await test.database.db.selectFrom('outbox').select(['type', 'payload']).execute();
    expect(rows.length).toBeGreaterThan(0);
    const text = JSON.stringify(rows);
    const forbidden = [email, email.split('@')[0], password, visitor.token, test.config.secrets.adminToken, webhook.json().secret];
    if (registered.statusCode === 404) forbidden.splice(0, 3);
    for (const value of forbidden) expect(text).not.toContain(value);
    expect(keysOf(rows.map((row) => row.payload)).filter((key) => /email|password|token|secret|ip/i.test(key))).toEqual([]);
  });
});

describe('metrics', () => {
  it('count deliveries per sink and show the outbox backlog', async () => {
    await test.app.events.relay.stop();
    await append(test.database.db, [{ type: 'PersonaPurged', payload: { personaId: randomUUID() } }]);
    const before = (await test.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(before).toMatch(/^personae_outbox_backlog 1$/m);

    await test.app.events.relay.flush();
    const after = (await test.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(after).toMatch(/^personae_outbox_backlog 0$/m);
    expect(after).toMatch(/^personae_events_delivered_total\{sink="in-process"\} [1-9]\d*$/m);
    expect(after).toMatch(/^personae_events_delivered_total\{sink="webhooks"\} [1-9]\d*$/m);
    test.app.events.relay.start();
  });
});

describe('with NATS configured but unreachable', () => {
  it('the service runs, and events wait in the outbox until NATS answers', async () => {
    // A second node on the same database, with NATS; the first node's relay pauses meanwhile.
    await test.app.events.relay.stop();
    const node = await startTestApp({ env: { NATS_URL: 'nats://127.0.0.1:1', EVENT_RELAY_INTERVAL_MS: '60000' }, database: test.database });
    try {
      const profileId = randomUUID();
      await append(node.database.db, [{ type: 'PersonBanned', payload: { accountabilityProfileId: profileId } }]);
      await expect(node.app.events.relay.flush()).rejects.toThrow(/sink nats failed/);
      const pending = await node.database.db.selectFrom('outbox').select('payload').where('dispatched_at', 'is', null).execute();
      expect(pending.map((row) => row.payload)).toEqual([{ accountabilityProfileId: profileId }]);
      expect((await node.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await node.close();
      test.app.events.relay.start();
    }
  });
});

function keysOf(values: unknown[]): string[] {
  return values.flatMap((value) =>
    value && typeof value === 'object'
      ? Object.entries(value).flatMap(([key, inner]) => [key, ...keysOf([inner])])
      : [],
  );
}

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { openDatabase } from '../../src/db/database.js';
import type { NewEvent } from '../../src/events/event.js';
import { appendEvent } from '../../src/events/outbox.js';
import { createWebhookRepository } from '../../src/modules/webhooks/webhook-repository.js';
import { WebhookSecretBox } from '../../src/modules/webhooks/webhook-secret-box.js';
import { WebhookWorker } from '../../src/modules/webhooks/webhook-worker.js';
import { verifyWebhook } from '../../src/modules/webhooks/webhook-signature.js';
import { openTestDatabase, postgresUrl, type TestDatabase } from '../support/database.js';
import { startTestApp, testEnvironment, type TestApp } from '../support/app.js';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A real HTTP receiver on a free port. `plan(path, …answers)` sets the answers a path gives, in order
 * (then 200); a path in `down` answers 503 to everything.
 */
async function startReceiver() {
  const received: Received[] = [];
  const plans = new Map<string, (number | 'hang')[]>();
  const down = new Set<string>();
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', headers: request.headers, body });
      const path = request.url ?? '';
      const answer = down.has(path) ? 503 : (plans.get(path)?.shift() ?? 200);
      if (answer === 'hang') return;
      response.writeHead(answer, answer === 302 ? { location: '/elsewhere' } : {}).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    received,
    down,
    plan: (path: string, ...answers: (number | 'hang')[]) => plans.set(path, answers),
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2030-01-01T00:00:00Z')) {
  let now = start;
  const clock: Clock & { advance(ms: number): void; seconds(): number } = {
    now: () => new Date(now),
    advance: (ms) => void (now += ms),
    seconds: () => Math.floor(now / 1000),
  };
  return clock;
}

const admin = (test: TestApp, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
  test.app.inject({ method, url, headers: test.adminHeaders, ...(payload ? { payload } : {}) });

async function register(test: TestApp, url: string, eventTypes?: string[]): Promise<{ id: string; secret: string }> {
  const response = await admin(test, 'POST', '/admin/webhooks', { url, ...(eventTypes ? { eventTypes } : {}) });
  expect(response.statusCode).toBe(201);
  return { id: response.json().webhook.id, secret: response.json().secret };
}

async function emit(test: TestApp, events: readonly NewEvent[]): Promise<string[]> {
  // The ids are read inside the transaction that wrote them: once it commits, the relay may already
  // be dispatching them.
  const ids = await test.database.db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('outbox').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
    for (const event of events) await appendEvent(trx, event);
    const rows = await trx.selectFrom('outbox').select('id').where('seq', '>', before?.seq ?? '0').orderBy('seq').execute();
    return rows.map((row) => row.id);
  });
  await test.app.events.relay.flush();
  return ids;
}

const banned = (): NewEvent => ({ type: 'PersonBanned', payload: { accountabilityProfileId: randomUUID() } });

async function deliveryRow(test: TestApp, webhookId: string, eventId: string) {
  return test.database.db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('webhook_id', '=', webhookId)
    .where('event_id', '=', eventId)
    .executeTakeFirstOrThrow();
}

describe('webhooks on the system clock', () => {
  let test: TestApp;
  let receiver: Receiver;
  beforeAll(async () => {
    test = await startTestApp({ env: { WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_TIMEOUT_MS: '1000' } });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await test.close();
    await receiver.close();
  });

  it('admins register (the secret shown once, stored sealed, audited), list and revoke webhooks', async () => {
    const created = await admin(test, 'POST', '/admin/webhooks', { url: receiver.url('/admin-test?key=abc'), eventTypes: ['PersonBanned'] });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toEqual({
      webhook: { id: expect.any(String), url: receiver.url('/admin-test?key=abc'), eventTypes: ['PersonBanned'], createdAt: expect.any(String), revoked: false },
      secret: expect.stringMatching(/^whsec_/),
      correlationId: created.headers['x-correlation-id'],
    });
    const stored = await test.database.db.selectFrom('webhooks').select('secret_sealed').where('id', '=', body.webhook.id).executeTakeFirstOrThrow();
    expect(stored.secret_sealed.includes(Buffer.from(body.secret))).toBe(false);

    const listed = await admin(test, 'GET', '/admin/webhooks');
    expect(listed.json().webhooks).toContainEqual(body.webhook);
    expect(listed.body).not.toContain(body.secret);

    const revoked = await admin(test, 'DELETE', `/admin/webhooks/${body.webhook.id}`);
    expect(revoked.json()).toEqual({ revoked: true, correlationId: revoked.headers['x-correlation-id'] });
    expect((await admin(test, 'DELETE', `/admin/webhooks/${body.webhook.id}`)).json().code).toBe('WEBHOOK_NOT_FOUND');
    expect((await admin(test, 'GET', `/admin/webhooks/${randomUUID()}/deliveries`)).statusCode).toBe(404);

    const audit = await test.database.db
      .selectFrom('audit_log')
      .select(['actor', 'action', 'detail'])
      .where('target', '=', body.webhook.id)
      .orderBy('id')
      .execute();
    expect(audit).toEqual([
      { actor: 'admin', action: 'webhook.create', detail: { origin: new URL(receiver.url()).origin, eventTypes: ['PersonBanned'] } },
      { actor: 'admin', action: 'webhook.revoke', detail: {} },
    ]);
  });

  it.each([
    [{ url: 'ftp://example.com/hook' }, 'VALIDATION_FAILED'],
    [{ url: 'https://user:pw@example.com/hook' }, 'VALIDATION_FAILED'],
    [{ url: 'not a url' }, 'VALIDATION_FAILED'],
    [{ url: 'https://example.com/hook', eventTypes: ['NoSuchEvent'] }, 'VALIDATION_FAILED'],
    [{ url: 'https://example.com/hook', extra: true }, 'VALIDATION_FAILED'],
  ])('refuses %j', async (payload, code) => {
    const response = await admin(test, 'POST', '/admin/webhooks', payload);
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe(code);
  });

  it('only admins reach the webhook routes', async () => {
    const response = await test.app.inject({ method: 'GET', url: '/admin/webhooks' });
    expect(response.statusCode).toBe(401);
  });

  it('POSTs matching events as signed JSON that a receiver verifies', async () => {
    const hook = await register(test, receiver.url('/signed'), ['PersonBanned']);
    const [bannedId] = await emit(test, [banned(), { type: 'PersonaPurged', payload: { personaId: randomUUID() } }]);
    await vi.waitFor(() => expect(receiver.received.filter((r) => r.path === '/signed')).toHaveLength(1), { timeout: 5000 });
    await test.app.events.webhookWorker.flush();

    const [request] = receiver.received.filter((r) => r.path === '/signed');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['webhook-id']).toBe(bannedId);
    expect(JSON.parse(request?.body ?? '')).toEqual({ id: bannedId, type: 'PersonBanned', occurredAt: expect.any(String), payload: expect.any(Object) });
    const signed = {
      id: String(request?.headers['webhook-id']),
      timestamp: String(request?.headers['webhook-timestamp']),
      signature: String(request?.headers['webhook-signature']),
      body: request?.body ?? '',
    };
    expect(verifyWebhook(hook.secret, signed, Math.floor(Date.now() / 1000))).toBe(true);
    expect(verifyWebhook(hook.secret, { ...signed, body: signed.body.replace('PersonBanned', 'PersonaPurged') }, Math.floor(Date.now() / 1000))).toBe(false);

    const deliveries = (await admin(test, 'GET', `/admin/webhooks/${hook.id}/deliveries`)).json().deliveries;
    expect(deliveries).toEqual([
      { eventId: bannedId, eventType: 'PersonBanned', status: 'delivered', attempts: 1, nextAttemptAt: null, deliveredAt: expect.any(String), lastError: null },
    ]);
    await admin(test, 'DELETE', `/admin/webhooks/${hook.id}`);
  });

  it('retries after a timeout and a 500 with the same webhook-id, then succeeds', async () => {
    const hook = await register(test, receiver.url('/flaky'));
    receiver.plan('/flaky', 'hang', 500);
    const [eventId] = await emit(test, [banned()]);
    await vi.waitFor(async () => expect((await deliveryRow(test, hook.id, eventId ?? '')).delivered_at).not.toBeNull(), {
      timeout: 20_000,
      interval: 50,
    });

    const attempts = receiver.received.filter((r) => r.path === '/flaky');
    expect(attempts.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId, eventId]);
    expect(new Set(attempts.map((r) => r.body)).size).toBe(1);
    expect(await deliveryRow(test, hook.id, eventId ?? '')).toMatchObject({ attempts: 3, last_error: null });
    await admin(test, 'DELETE', `/admin/webhooks/${hook.id}`);
  });

  it('does not follow redirects: a 3xx is a failed attempt', async () => {
    const hook = await register(test, receiver.url('/redirecting'));
    // Every attempt is redirected: with retries 50 ms apart, a single 302 would be followed by a 200
    // before a busy machine's poll could see the failure it recorded.
    receiver.plan('/redirecting', ...Array<number>(20).fill(302));
    const [eventId = ''] = await emit(test, [banned()]);
    await vi.waitFor(async () => expect((await deliveryRow(test, hook.id, eventId)).last_error).toMatch(/HTTP 302$/), { timeout: 5000 });
    await admin(test, 'DELETE', `/admin/webhooks/${hook.id}`);
    expect(receiver.received.map((r) => r.path)).not.toContain('/elsewhere');
  });

  it('sends nothing more to a revoked webhook, pending retries included', async () => {
    const hook = await register(test, receiver.url('/revoked'));
    receiver.down.add('/revoked');
    await emit(test, [banned()]);
    await vi.waitFor(() => expect(receiver.received.filter((r) => r.path === '/revoked').length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    await admin(test, 'DELETE', `/admin/webhooks/${hook.id}`);
    // An attempt already in flight may still land; after that, nothing.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const sent = receiver.received.filter((r) => r.path === '/revoked').length;
    await emit(test, [banned()]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await test.app.events.webhookWorker.flush();
    expect(receiver.received.filter((r) => r.path === '/revoked')).toHaveLength(sent);
  });
});

describe('retry timing, on a clock the test moves', () => {
  const clock = manualClock();
  let test: TestApp;
  let receiver: Receiver;
  beforeAll(async () => {
    const env = { WEBHOOK_RETRY_BASE_MS: '60000', WEBHOOK_MAX_ATTEMPTS: '3', EVENT_RELAY_INTERVAL_MS: '60000' };
    test = await startTestApp({ env, clock });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await test.close();
    await receiver.close();
  });

  const attemptsAt = (path: string) => receiver.received.filter((r) => r.path === path).length;
  const settle = async () => {
    await test.app.events.webhookWorker.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await test.app.events.webhookWorker.flush();
  };

  it('backs off exponentially with jitter, then gives up after the last attempt and says so', async () => {
    const hook = await register(test, receiver.url('/down'));
    receiver.plan('/down', 500, 500, 500);
    const [eventId = ''] = await emit(test, [banned()]);
    await settle();
    expect(attemptsAt('/down')).toBe(1);
    const first = await deliveryRow(test, hook.id, eventId);
    const firstDelay = first.next_attempt_at.getTime() - clock.now().getTime();
    expect(firstDelay).toBeGreaterThanOrEqual(30_000);
    expect(firstDelay).toBeLessThanOrEqual(60_000);
    expect(first).toMatchObject({ attempts: 1, last_error: 'HTTP 500', delivered_at: null });

    clock.advance(firstDelay - 1000);
    await settle();
    expect(attemptsAt('/down')).toBe(1);
    clock.advance(1000);
    await settle();
    expect(attemptsAt('/down')).toBe(2);
    const second = await deliveryRow(test, hook.id, eventId);
    const secondDelay = second.next_attempt_at.getTime() - clock.now().getTime();
    expect(secondDelay).toBeGreaterThanOrEqual(60_000);
    expect(secondDelay).toBeLessThanOrEqual(120_000);

    clock.advance(secondDelay);
    await settle();
    expect(attemptsAt('/down')).toBe(3);
    const lastAttemptAt = clock.seconds();
    expect(await deliveryRow(test, hook.id, eventId)).toMatchObject({ attempts: 3, last_error: 'gave up after 3 attempts: HTTP 500' });
    clock.advance(86_400_000);
    await settle();
    expect(attemptsAt('/down')).toBe(3);
    const [view] = (await admin(test, 'GET', `/admin/webhooks/${hook.id}/deliveries`)).json().deliveries;
    expect(view).toMatchObject({ status: 'failed', attempts: 3, nextAttemptAt: null, lastError: 'gave up after 3 attempts: HTTP 500' });
    // The signature's timestamp is the (injected) clock's: receivers check it against their own time.
    const last = receiver.received.filter((r) => r.path === '/down').at(-1);
    expect(Number(last?.headers['webhook-timestamp'])).toBe(lastAttemptAt);
    await admin(test, 'DELETE', `/admin/webhooks/${hook.id}`);
  });

  it('a delivery claimed by a node that died is retried once its lease runs out', async () => {
    const hook = await register(test, receiver.url('/lease'));
    await test.app.events.webhookWorker.stop();
    const [eventId = ''] = await emit(test, [banned()]);
    // What a dying node leaves behind: the attempt counted, the delivery leased, nothing recorded after.
    const leaseUntil = new Date(clock.now().getTime() + 40_000);
    const repository = createWebhookRepository(test.database.db);
    const claimed = await repository.claimDue(clock.now(), leaseUntil, 10, 3);
    expect(claimed.filter((delivery) => delivery.webhookId === hook.id).map((delivery) => delivery.event.id)).toEqual([eventId]);

    // Another node's worker (this app's own was stopped, so it could not take the delivery first).
    const survivor = new WebhookWorker({
      webhooks: repository,
      secrets: new WebhookSecretBox(test.config.secrets.tokenHashKey),
      clock,
      retry: { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 3_600_000 },
      timeoutMs: 5000,
      intervalMs: 60_000,
      log: { info: () => undefined, warn: () => undefined },
    });
    await survivor.flush();
    expect(attemptsAt('/lease')).toBe(0);
    clock.advance(40_000);
    await survivor.flush();
    expect(attemptsAt('/lease')).toBe(1);
    expect(await deliveryRow(test, hook.id, eventId)).toMatchObject({ attempts: 2, last_error: null, delivered_at: expect.any(Date) });
  });
});

describe.runIf(postgresUrl)('two nodes sending webhooks from one PostgreSQL database', () => {
  let database: TestDatabase;
  let nodes: TestApp[];
  let receiver: Receiver;
  beforeAll(async () => {
    database = await openTestDatabase();
    const second = { ...openDatabase({ url: database.url, poolSize: 5 }), url: database.url, drop: async () => undefined };
    const env = testEnvironment({ EVENT_RELAY_INTERVAL_MS: '20' });
    nodes = [await startTestApp({ env, database }), await startTestApp({ env, database: second })];
    receiver = await startReceiver();
  });
  afterAll(async () => {
    for (const node of nodes) await node.close();
    await nodes[1]?.database.close();
    await database.drop();
    await receiver.close();
  });

  it('deliver every event once between them', async () => {
    const [a] = nodes as [TestApp, TestApp];
    await register(a, receiver.url('/shared'));
    await a.database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 60; i++) await appendEvent(trx, banned());
    });
    await vi.waitFor(() => expect(receiver.received.filter((r) => r.path === '/shared')).toHaveLength(60), { timeout: 15_000, interval: 50 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ids = receiver.received.filter((r) => r.path === '/shared').map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(60);
    expect(ids).toHaveLength(60);
  });
});

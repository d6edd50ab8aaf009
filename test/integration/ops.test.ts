import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/http/logger.js';
import { startTestApp, testEnvironment, Visitor, type TestApp } from '../support/app.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test?.close());

/** The real app, not yet ready, built on `database` the way main.ts builds it. */
const buildOn = (database: TestDatabase) =>
  buildApp({
    config: loadConfig(testEnvironment()),
    database,
    logger: createLogger('silent'),
    invalidation: createMemoryInvalidationBus(),
  });

const get = (url: string) => test.app.inject({ method: 'GET', url });

describe('liveness and readiness', () => {
  it('GET /healthz answers 200 ok', async () => {
    const response = await get('/healthz');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', correlationId: response.headers['x-correlation-id'] });
  });

  it('GET /readyz answers 200 ready while the database answers', async () => {
    const response = await get('/readyz');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', correlationId: response.headers['x-correlation-id'] });
  });

  describe('once the database is gone', () => {
    let database: TestDatabase;
    let app: FastifyInstance;
    beforeAll(async () => {
      database = await openTestDatabase();
      app = await buildOn(database);
      await app.ready();
      await database.close();
    });
    afterAll(async () => {
      await app?.close();
      await database?.drop();
    });

    it('GET /readyz answers 503 NOT_READY', async () => {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({
        code: 'NOT_READY',
        message: expect.any(String),
        correlationId: response.headers['x-correlation-id'],
      });
    });

    it('GET /healthz still answers 200: liveness does not depend on the database', async () => {
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    });
  });
});

describe('GET /metrics', () => {
  const metrics = async () => {
    const response = await get('/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.body;
  };
  const guestsStarted = (text: string) => Number(/^personae_guests_started_total (\d+)$/m.exec(text)?.[1]);

  it('is Prometheus text with the request histogram and the process default metrics', async () => {
    await get('/healthz');
    const text = await metrics();
    expect(text).toContain('# TYPE personae_http_request_duration_seconds histogram');
    expect(text).toMatch(/^personae_http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200"\} [1-9]/m);
    expect(text).toContain('# TYPE personae_guests_started_total counter');
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(text).toMatch(new RegExp(`^personae_${name}(\\{[^}]*\\})? `, 'm'));
    }
  });

  it('counts a guest started by POST /session, once: a repeated start is not a new guest', async () => {
    const before = guestsStarted(await metrics());
    expect(before).toBeGreaterThanOrEqual(0);
    const visitor = new Visitor(test.app);
    await visitor.start();
    expect(guestsStarted(await metrics())).toBe(before + 1);
    expect((await visitor.request('POST', '/session')).statusCode).toBe(200);
    expect(guestsStarted(await metrics())).toBe(before + 1);
  });

  it('labels requests by route pattern, never by raw URL (ids would explode the label set)', async () => {
    await get('/no-such-page/3f1c2b7e');
    await test.app.inject({ method: 'DELETE', url: '/admin/apps/6d1f8b2e-0a4c-4f67-9b1e-2c3d4e5f6a7b' });
    const text = await metrics();
    expect(text).not.toContain('3f1c2b7e');
    expect(text).not.toContain('6d1f8b2e');
    expect(text).toMatch(/route="unmatched",status_code="404"/);
    expect(text).toMatch(/route="\/admin\/apps\/:id",status_code="401"/);
  });
});

describe('API documentation', () => {
  it('GET /openapi.json is OpenAPI 3.1 with the public paths, each declaring its responses', async () => {
    const response = await get('/openapi.json');
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.info).toMatchObject({ title: 'personae', version: expect.any(String) });
    const paths = Object.keys(document.paths);
    expect(paths).toEqual(expect.arrayContaining(['/session', '/identity-link', '/apps/resolve', '/admin/apps', '/admin/bans']));
    for (const [path, item] of Object.entries<Record<string, { responses?: Record<string, unknown> }>>(document.paths)) {
      const operations = Object.entries(item);
      expect(operations.length, path).toBeGreaterThan(0);
      for (const [method, operation] of operations) {
        expect(Object.keys(operation.responses ?? {}).length, `${method.toUpperCase()} ${path}`).toBeGreaterThan(0);
      }
    }
    expect(Object.keys(document.paths['/session'].post.responses)).toEqual(expect.arrayContaining(['200', '201']));
  });

  it('has every $ref in it resolve within the document', async () => {
    const document = (await get('/openapi.json')).json();
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"([^"]+)"/g)].map((match) => match[1] ?? '');
    for (const ref of new Set(refs)) {
      expect(ref, ref).toMatch(/^#\//);
      const target = ref
        .slice(2)
        .split('/')
        .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
      expect(target, ref).toBeDefined();
    }
  });

  it('serves the docs page as HTML at /docs (following redirects)', async () => {
    let url = '/docs';
    let response = await get(url);
    for (let hops = 0; response.statusCode >= 300 && response.statusCode < 400 && hops < 5; hops++) {
      url = new URL(String(response.headers.location), `http://localhost${url}`).pathname;
      response = await get(url);
    }
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toMatch(/<html/i);
    expect(response.body).toMatch(/swagger/i);
  });
});

describe('graceful shutdown', () => {
  /** A GET over a new connection of its own (no keep-alive reuse). */
  const getOnNewConnection = (port: number, path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  /** Listens with a 500 ms route and starts a keep-alive request (fetch, as browsers and proxies do) to it. */
  async function slowRequestInFlight() {
    const app = await buildOn(test.database);
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    app.get('/slow', async () => {
      entered();
      await delay(500);
      return { ok: true };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const response = fetch(`http://127.0.0.1:${port}/slow`);
    await inHandler; // the request has reached the handler: close() now has something to wait for
    return { app, port, response };
  }

  /** Whether a promise settles within `ms`. */
  const settlesWithin = (promise: Promise<unknown>, ms: number) =>
    Promise.race([promise.then(() => true), delay(ms).then(() => false)]);

  it('finishes a request in flight, then refuses new connections', async () => {
    const { app, port, response } = await slowRequestInFlight();
    const closed = app.close();
    try {
      const answer = await response;
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ ok: true });
      await expect(getOnNewConnection(port, '/healthz')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      app.server.closeAllConnections(); // never leave the server behind, whatever failed
      await closed;
    }
  });

  it('completes close() once the last request has answered, even on a keep-alive connection', async () => {
    const { app, response } = await slowRequestInFlight();
    const closingAt = Date.now();
    const closed = app.close();
    try {
      expect((await response).status).toBe(200);
      // Without "Connection: close" on the last responses, the idle keep-alive socket holds close()
      // (and a SIGTERM shutdown) open for the full keep-alive timeout (72 s).
      expect(await settlesWithin(closed, 3000), 'close() still pending 3 s after the last response').toBe(true);
      expect(Date.now() - closingAt).toBeGreaterThanOrEqual(300); // it did wait for the handler
    } finally {
      app.server.closeAllConnections();
      await closed;
    }
  });
});

import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

// GET /session of a returning guest is answered before Fastify, from the session cache
// (src/http/session-fast-lane.ts). The lane lives in the HTTP server, so these tests go over a real
// socket; `inject` goes straight to Fastify and so gives the route's own answer to compare with.

/** Headers that differ between any two answers, or that only a socket answer carries. */
const PER_ANSWER = new Set(['date', 'connection', 'keep-alive', 'x-correlation-id']);

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

async function overSocket(base: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { method, headers });
  const text = await response.text();
  return { status: response.status, headers: Object.fromEntries(response.headers), body: text ? JSON.parse(text) : {} };
}

async function throughFastify(test: TestApp, headers: Record<string, string>): Promise<Answer> {
  const response = await test.app.inject({ method: 'GET', url: '/session', headers });
  const flat = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, String(value)]));
  return { status: response.statusCode, headers: flat, body: response.json() };
}

const comparable = ({ status, headers, body }: Answer) => ({
  status,
  headers: Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_ANSWER.has(name))),
  body: { ...body, correlationId: typeof body.correlationId },
});

/** Fast-lane answers so far, from the service's own metrics. */
async function laneAnswers(test: TestApp): Promise<number> {
  const text = (await test.app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(/^personae_session_fast_lane_answers_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

/** A started guest whose session is in the node's cache; answers its `anon_id` cookie header. */
async function cachedGuest(test: TestApp, base: string): Promise<string> {
  const started = await fetch(`${base}/session`, { method: 'POST' });
  expect(started.status).toBe(201);
  const setCookie = started.headers.getSetCookie().find((line) => line.startsWith('anon_id='));
  const cookie = setCookie!.slice(0, setCookie!.indexOf(';'));
  await test.app.inject({ method: 'GET', url: '/session', headers: { cookie } }); // a miss fills the cache
  return cookie;
}

async function listening(env: Record<string, string> = {}): Promise<{ test: TestApp; base: string }> {
  const test = await startTestApp({ env: { SESSION_CACHE_TTL_SECONDS: '3600', ...env } });
  await test.app.listen({ host: '127.0.0.1', port: 0 });
  return { test, base: `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}` };
}

describe('the GET /session fast lane', () => {
  let test: TestApp;
  let base: string;
  beforeAll(async () => {
    ({ test, base } = await listening());
  });
  afterAll(() => test.close());

  it('answers a returning guest exactly as the route does, header by header', async () => {
    const cookie = await cachedGuest(test, base);
    const before = await laneAnswers(test);
    const lane = await overSocket(base, '/session', { cookie });
    expect(await laneAnswers(test)).toBe(before + 1);
    const route = await throughFastify(test, { cookie });
    expect(lane.status).toBe(200);
    expect(lane.body).toMatchObject({ started: true, anonymous: true, banned: false, persona: { id: expect.any(String) } });
    expect(comparable(lane)).toEqual(comparable(route));
    // Its own correlation id, in the header and in the body, as every answer has.
    expect(lane.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(lane.body.correlationId).toBe(lane.headers['x-correlation-id']);
    expect(lane.headers['x-correlation-id']).not.toBe(route.headers['x-correlation-id']);
  });

  it('keeps a well-formed correlation id the caller sent, as the route does', async () => {
    const cookie = await cachedGuest(test, base);
    const before = await laneAnswers(test);
    const lane = await overSocket(base, '/session', { cookie, 'x-correlation-id': 'trace-0123456789' });
    expect(await laneAnswers(test)).toBe(before + 1);
    expect(lane.headers['x-correlation-id']).toBe('trace-0123456789');
    expect(lane.body.correlationId).toBe('trace-0123456789');
  });

  it('counts in the request metrics and writes the access-log line under its correlation id', async () => {
    const cookie = await cachedGuest(test, base);
    const observed = async () =>
      Number(/^personae_http_request_duration_seconds_count\{method="GET",route="\/session",status_code="200"\} (\S+)$/m.exec(
        (await test.app.inject({ method: 'GET', url: '/metrics' })).body,
      )?.[1] ?? 0);
    const before = await observed();
    const lane = await overSocket(base, '/session', { cookie });
    expect(await observed()).toBe(before + 1);
    const line = test.logs.map((text) => JSON.parse(text)).find((entry) => entry.correlationId === lane.headers['x-correlation-id']);
    expect(line).toMatchObject({ msg: 'request completed', method: 'GET', route: '/session', statusCode: 200, ms: expect.any(Number) });
  });

  it('shows a ban on the very next request: the cache it reads is the one a ban evicts', async () => {
    const cookie = await cachedGuest(test, base);
    const { persona } = (await overSocket(base, '/session', { cookie })).body as { persona: { id: string } };
    const payload = { subject: { personaId: persona.id }, reason: 'spam' };
    const banned = await test.app.inject({ method: 'POST', url: '/admin/bans', headers: test.adminHeaders, payload });
    expect(banned.statusCode).toBeLessThan(300);
    expect((await overSocket(base, '/session', { cookie })).body).toMatchObject({ banned: true });
  });

  describe('gives Fastify every other request, which answers it as before', () => {
    it.each([
      ['a query string', '/session?x=1', {}],
      ['an Origin header', '/session', { origin: 'https://elsewhere.example' }],
      ['an Authorization header', '/session', { authorization: 'Bearer a.b.c' }],
      ['a signed-in session cookie beside it', '/session', { extraCookie: '__Host-session=whatever' }],
    ])('%s', async (_case, path, headers) => {
      const cookie = await cachedGuest(test, base);
      const { extraCookie, ...rest } = headers as Record<string, string>;
      const before = await laneAnswers(test);
      const answer = await overSocket(base, path, { cookie: extraCookie ? `${cookie}; ${extraCookie}` : cookie, ...rest });
      expect(await laneAnswers(test)).toBe(before);
      expect(answer.body.correlationId).toBe(answer.headers['x-correlation-id']);
    });

    it('a visitor without a cookie (a new one is issued)', async () => {
      const before = await laneAnswers(test);
      const response = await fetch(`${base}/session`);
      expect(await laneAnswers(test)).toBe(before);
      expect(response.headers.getSetCookie().some((line) => line.startsWith('anon_id='))).toBe(true);
      expect(await response.json()).toMatchObject({ started: false, persona: null });
    });

    it('a tampered cookie (treated as absent)', async () => {
      const cookie = await cachedGuest(test, base);
      const before = await laneAnswers(test);
      const answer = await overSocket(base, '/session', { cookie: cookie.replace(/=./, (pair) => (pair === '=A' ? '=B' : '=A')) });
      expect(await laneAnswers(test)).toBe(before);
      expect(answer.body).toMatchObject({ started: false });
    });

    it('two anon_id cookies (409 COOKIE_CONFLICT from the route)', async () => {
      const cookie = await cachedGuest(test, base);
      const before = await laneAnswers(test);
      const answer = await overSocket(base, '/session', { cookie: `${cookie}; ${cookie}` });
      expect(await laneAnswers(test)).toBe(before);
      expect(answer.body).toMatchObject({ code: 'COOKIE_CONFLICT' });
    });

    it('HEAD (Fastify answers it from the GET route, without a body)', async () => {
      const cookie = await cachedGuest(test, base);
      const before = await laneAnswers(test);
      const response = await fetch(`${base}/session`, { method: 'HEAD', headers: { cookie } });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('');
      expect(await laneAnswers(test)).toBe(before);
    });
  });
});

describe('the fast lane with the session cache off', () => {
  it('never answers: every request reads the database', async () => {
    const { test, base } = await listening({ SESSION_CACHE_TTL_SECONDS: '0' });
    try {
      const cookie = await cachedGuest(test, base);
      for (let i = 0; i < 3; i++) expect((await overSocket(base, '/session', { cookie })).body).toMatchObject({ started: true });
      expect(await laneAnswers(test)).toBe(0);
    } finally {
      await test.close();
    }
  });
});

describe('the fast lane with CORS on (ALLOWED_ORIGINS)', () => {
  it('repeats the Vary: Origin that @fastify/cors puts on every answer', async () => {
    const { test, base } = await listening({ ALLOWED_ORIGINS: 'https://front.example' });
    try {
      const cookie = await cachedGuest(test, base);
      const lane = await overSocket(base, '/session', { cookie });
      expect(await laneAnswers(test)).toBe(1);
      expect(lane.headers.vary).toBe('Origin');
      expect(comparable(lane)).toEqual(comparable(await throughFastify(test, { cookie })));
    } finally {
      await test.close();
    }
  });
});

describe('the fast lane and the daily anon_id refresh', () => {
  it('leaves a cookie due for refresh to the route, which sets it again', async () => {
    let ahead = 0;
    const test = await startTestApp({ env: { SESSION_CACHE_TTL_SECONDS: '3600' }, clock: { now: () => new Date(Date.now() + ahead) } });
    try {
      await test.app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}`;
      const cookie = await cachedGuest(test, base);
      await overSocket(base, '/session', { cookie });
      expect(await laneAnswers(test)).toBe(1);
      ahead = 2 * 86_400_000;
      const response = await fetch(`${base}/session`, { headers: { cookie } });
      expect(response.headers.getSetCookie().some((line) => line.startsWith('anon_id='))).toBe(true);
      expect(await laneAnswers(test)).toBe(1);
    } finally {
      await test.close();
    }
  });
});

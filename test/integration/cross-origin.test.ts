import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';

const FRONT_END = 'https://board.example.org';
let test: TestApp;

beforeAll(async () => {
  test = await startTestApp({ env: { ALLOWED_ORIGINS: FRONT_END } });
});
afterAll(() => test.close());

const guests = async () =>
  Number((await test.database.db.selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

describe('an allowed front end on a sibling subdomain', () => {
  it('gets a CORS preflight answer with credentials', async () => {
    const response = await test.app.inject({
      method: 'OPTIONS',
      url: '/session',
      headers: { origin: FRONT_END, 'access-control-request-method': 'POST' },
    });
    expect(response.statusCode).toBeLessThan(300);
    expect(response.headers['access-control-allow-origin']).toBe(FRONT_END);
    expect(response.headers['access-control-allow-credentials']).toBe('true');
  });

  it('may send state-changing requests even though the browser says same-site or cross-site', async () => {
    for (const site of ['same-site', 'cross-site']) {
      const visitor = new Visitor(test.app);
      const response = await visitor.request('POST', '/session', undefined, { origin: FRONT_END, 'sec-fetch-site': site });
      expect(response.statusCode).toBe(201);
      expect(response.headers['access-control-allow-origin']).toBe(FRONT_END);
    }
  });

  it('does not extend to other origins: no CORS grant, and their writes are refused', async () => {
    const before = await guests();
    const preflight = await test.app.inject({
      method: 'OPTIONS',
      url: '/session',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    for (const site of ['same-site', 'cross-site']) {
      const response = await test.app.inject({
        method: 'POST',
        url: '/session',
        headers: { origin: 'https://evil.example', 'sec-fetch-site': site },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().code).toBe('CROSS_SITE');
    }
    expect(await guests()).toBe(before);
  });
});

describe('two anon_id cookies (cookie tossing from a sibling host)', () => {
  it('are refused with COOKIE_CONFLICT rather than acting for either identity', async () => {
    const victim = new Visitor(test.app);
    const attacker = new Visitor(test.app);
    await victim.start();
    await attacker.start();
    const before = await test.database.db.selectFrom('identity_links').select('lookup_key').execute();
    // The browser sends the longer-path (planted) cookie first.
    const cookie = `anon_id=${attacker.cookie}; anon_id=${victim.cookie}`;
    for (const [method, url] of [
      ['POST', '/identity-link'],
      ['GET', '/session'],
      ['GET', '/identity-link'],
    ] as const) {
      const response = await test.app.inject({
        method,
        url,
        headers: { cookie },
        ...(method === 'POST' ? { payload: { identityData: { email: 'victim@example.org' }, consent: true } } : {}),
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ code: 'COOKIE_CONFLICT', message: expect.any(String), correlationId: expect.any(String) });
      expect(response.headers['set-cookie']).toBeUndefined();
    }
    expect(await test.database.db.selectFrom('identity_links').select('lookup_key').execute()).toEqual(before);
  });

  it('are not confused with other cookies whose names end in anon_id', async () => {
    const visitor = new Visitor(test.app);
    const started = await visitor.start();
    const response = await test.app.inject({
      method: 'GET',
      url: '/session',
      headers: { cookie: `xanon_id=${visitor.cookie}; anon_id=${visitor.cookie}` },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().persona).toEqual(started.persona);
  });
});

describe('every state-changing route', () => {
  it('refuses a cross-site request before its handler, whoever sends it (the check rides on each such route)', async () => {
    const document = (await test.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
    const guest = new Visitor(test.app);
    await guest.request('POST', '/session');
    const unsafe = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .map((method) => method.toUpperCase())
        .filter((method): method is 'POST' | 'PUT' | 'PATCH' | 'DELETE' => !['GET', 'HEAD', 'OPTIONS'].includes(method))
        .map((method) => ({ method, url: path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000') })),
    );
    expect(unsafe.length).toBeGreaterThan(50);
    const before = await guests();
    const answers = [];
    for (const { method, url } of unsafe) {
      const response = await guest.request(method, url, {}, { ...test.adminHeaders, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
      answers.push(`${method} ${url} ${response.statusCode} ${response.json<{ code?: string }>().code}`);
    }
    // An app's server-to-server call carries the app's own credentials, never a browser's ambient
    // ones: without them it is refused by its authentication, which runs first.
    const refused = (answer: string) => answer.endsWith(' 403 CROSS_SITE') || answer.endsWith(' 401 APP_UNAUTHORIZED');
    expect(answers.filter((answer) => !refused(answer))).toEqual([]);
    expect(answers.filter((answer) => answer.endsWith(' 403 CROSS_SITE')).length).toBeGreaterThan(50);
    expect(await guests()).toBe(before);
  });
});

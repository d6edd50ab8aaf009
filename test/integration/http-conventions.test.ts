import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';

const PARTNER = 'https://partner.example';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let test: TestApp;
/** A second node on the same database with a small body limit. */
let limited: TestApp;
beforeAll(async () => {
  test = await startTestApp({ env: { ALLOWED_ORIGINS: `${PARTNER}, https://other.example` } });
  limited = await startTestApp({ env: { BODY_LIMIT_BYTES: '2048' }, database: test.database });
});
afterAll(async () => {
  await limited?.close();
  await test?.close();
});

const TABLES = ['accountability_profiles', 'accounts', 'personas', 'sessions', 'identity_links', 'apps', 'audit_log'] as const;

/** Row counts of every table that a request could write to. */
async function snapshot(): Promise<Record<(typeof TABLES)[number], number>> {
  const counts = await Promise.all(
    TABLES.map(async (table) => {
      const row = await test.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return [table, Number(row.n)] as const;
    }),
  );
  return Object.fromEntries(counts) as Record<(typeof TABLES)[number], number>;
}

/** Every error: the status, exactly {code, message, correlationId}, and the id of the header. */
function expectError(response: LightMyRequestResponse, status: number, code: string): void {
  expect(response.statusCode, response.body.slice(0, 300)).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json();
  expect(Object.keys(body).sort()).toEqual(['code', 'correlationId', 'message']);
  expect(body.code).toBe(code);
  expect(body.code).toMatch(/^[A-Z][A-Z0-9_]*$/);
  expect(typeof body.message).toBe('string');
  expect(body.message.length).toBeGreaterThan(0);
  expect(body.correlationId).toBe(response.headers['x-correlation-id']);
}

describe('correlation ids', () => {
  it('are on every response, and JSON bodies carry the same one', async () => {
    const responses = await Promise.all([
      test.app.inject({ method: 'GET', url: '/session' }),
      test.app.inject({ method: 'POST', url: '/session' }),
      test.app.inject({ method: 'GET', url: '/healthz' }),
      test.app.inject({ method: 'GET', url: '/no/such/route' }),
      test.app.inject({ method: 'GET', url: '/admin/apps' }),
    ]);
    for (const response of responses) {
      const id = response.headers['x-correlation-id'];
      expect(id).toMatch(UUID);
      expect(response.json().correlationId).toBe(id);
    }
    const metrics = await test.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.headers['x-correlation-id']).toMatch(UUID);
    expect(new Set(responses.map((r) => r.headers['x-correlation-id'])).size).toBe(responses.length);
  });

  it.each(['req-0123456789', 'a1b2c3d4', 'Trace.ID:abc_DEF-123', `a${'x'.repeat(127)}`])(
    'keeps a well-formed incoming id (%s) in the header and the body',
    async (incoming) => {
      for (const url of ['/session', '/no/such/route']) {
        const response = await test.app.inject({ method: 'GET', url, headers: { 'x-correlation-id': incoming } });
        expect(response.headers['x-correlation-id']).toBe(incoming);
        expect(response.json().correlationId).toBe(incoming);
      }
    },
  );

  it.each([
    ['too short', 'abc1234'],
    ['spaces', 'has spaces in it'],
    ['500 characters', 'a'.repeat(500)],
    ['129 characters', 'a'.repeat(129)],
    ['a leading dash', '-abcdefgh'],
    ['a CRLF header injection', 'abc12345\r\nset-cookie: injected=1'],
    ['a newline', 'abc12345\nmore'],
    ['markup', '<script>alert(1)</script>'],
    ['non-ASCII letters', 'ünicode-correlation'],
    ['an empty value', ''],
  ])('replaces an id with %s by a fresh UUID', async (_problem, incoming) => {
    const response = await test.app.inject({ method: 'GET', url: '/session', headers: { 'x-correlation-id': incoming } });
    const id = response.headers['x-correlation-id'];
    expect(id).toMatch(UUID);
    expect(response.json().correlationId).toBe(id);
    expect(String(response.headers['set-cookie'])).not.toContain('injected');
  });
});

describe('errors', () => {
  it('answers an unknown route with 404 NOT_FOUND', async () => {
    expectError(await test.app.inject({ method: 'GET', url: '/nope' }), 404, 'NOT_FOUND');
    expectError(await test.app.inject({ method: 'POST', url: '/nope?x=1' }), 404, 'NOT_FOUND');
  });

  describe('on bad input to POST /identity-link, changing nothing', () => {
    let person: Visitor;
    let before: Awaited<ReturnType<typeof snapshot>>;
    beforeAll(async () => {
      person = new Visitor(test.app);
      await person.start();
      before = await snapshot();
    });

    const send = (payload: string, contentType = 'application/json') =>
      person.request('POST', '/identity-link', payload, { 'content-type': contentType });

    it('400 INVALID_JSON for a body that is not JSON', async () => {
      expectError(await send('{"identityData": {"email": "a@example.org"}, "consent": tr'), 400, 'INVALID_JSON');
      expectError(await send('not json at all'), 400, 'INVALID_JSON');
    });

    it('400 VALIDATION_FAILED for a body outside the schema', async () => {
      const identityData = { email: 'a@example.org' };
      for (const body of [
        { identityData, consent: true, extra: 'unknown property' },
        { identityData },
        { identityData, consent: 'yes' },
        { identityData: 'a@example.org', consent: true },
      ]) {
        expectError(await send(JSON.stringify(body)), 400, 'VALIDATION_FAILED');
      }
    });

    it('415 UNSUPPORTED_MEDIA_TYPE for a body that is not JSON by its content type', async () => {
      expectError(await send('email=a@example.org&consent=true', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await send('<consent>true</consent>', 'application/xml'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      // Fastify parses text/plain itself (into a string), so there the schema refuses it instead.
      expectError(await send('{"consent": true}', 'text/plain'), 400, 'VALIDATION_FAILED');
    });

    it('leaves every table as it was', async () => {
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('413 PAYLOAD_TOO_LARGE for a body over BODY_LIMIT_BYTES (2048)', () => {
    it('on an admin route, registering nothing', async () => {
      const before = await snapshot();
      const response = await limited.app.inject({
        method: 'POST',
        url: '/admin/apps',
        headers: limited.adminHeaders,
        payload: { name: 'x'.repeat(3000) },
      });
      expectError(response, 413, 'PAYLOAD_TOO_LARGE');
      expect(await snapshot()).toEqual(before);
    });

    it('on POST /identity-link too: no route may accept more than the operator allows', async () => {
      const person = new Visitor(limited.app);
      await person.start();
      const before = await snapshot();
      const response = await person.request('POST', '/identity-link', { identityData: { note: 'x'.repeat(4000) }, consent: true });
      expectError(response, 413, 'PAYLOAD_TOO_LARGE');
      expect(await snapshot()).toEqual(before);
    });

    it('while a body under the limit is accepted', async () => {
      const response = await limited.app.inject({ method: 'POST', url: '/admin/apps', headers: limited.adminHeaders, payload: { name: 'small' } });
      expect(response.statusCode).toBe(201);
    });
  });

  it('caps identity data at 8 KiB even under the default 64 KiB body limit', async () => {
    const person = new Visitor(test.app);
    await person.start();
    const response = await person.request('POST', '/identity-link', { identityData: { note: 'x'.repeat(9000) }, consent: true });
    expectError(response, 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('cross-site protection', () => {
  const accounts = async () => (await snapshot()).accounts;
  const startSession = (headers: Record<string, string>) => test.app.inject({ method: 'POST', url: '/session', headers });

  it.each([
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['Origin: null (sandboxed frames, data: URLs)', { origin: 'null' }],
    ['a look-alike Origin', { origin: 'https://partner.example.evil.example' }],
    ['the own host on another port', { host: 'id.example.org', origin: 'https://id.example.org:8443' }],
    ['Sec-Fetch-Site: cross-site even with the own Origin', { host: 'id.example.org', origin: 'https://id.example.org', 'sec-fetch-site': 'cross-site' }],
  ])('refuses a state-changing request with %s, creating nothing', async (_case, headers) => {
    const before = await accounts();
    expectError(await startSession(headers), 403, 'CROSS_SITE');
    expect(await accounts()).toBe(before);
  });

  it.each([
    ['the own origin (Origin matches Host)', { host: 'id.example.org', origin: 'https://id.example.org' }],
    ['an origin listed in ALLOWED_ORIGINS', { origin: PARTNER }],
    ['the second listed origin', { origin: 'https://other.example' }],
    ['Sec-Fetch-Site: same-origin', { 'sec-fetch-site': 'same-origin' }],
    ['neither header (a server, curl)', {}],
  ])('allows %s', async (_case, headers) => {
    const before = await accounts();
    expect((await startSession(headers)).statusCode).toBe(201);
    expect(await accounts()).toBe(before + 1);
  });

  it('guards every state-changing route, admin ones included', async () => {
    const evil = { origin: 'https://evil.example' };
    const before = await snapshot();
    expectError(await test.app.inject({ method: 'DELETE', url: '/identity-link', headers: evil }), 403, 'CROSS_SITE');
    expectError(
      await test.app.inject({ method: 'POST', url: '/admin/apps', headers: { ...test.adminHeaders, ...evil }, payload: { name: 'csrf' } }),
      403,
      'CROSS_SITE',
    );
    expect(await snapshot()).toEqual(before);
  });

  it('never refuses a GET', async () => {
    const hostile = { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' };
    for (const url of ['/session', '/healthz', '/openapi.json']) {
      expect((await test.app.inject({ method: 'GET', url, headers: hostile })).statusCode).toBe(200);
    }
  });
});

describe('caching', () => {
  it('marks every response cache-control: no-store, errors included', async () => {
    const responses = [
      await test.app.inject({ method: 'GET', url: '/session' }),
      await test.app.inject({ method: 'POST', url: '/session' }),
      await test.app.inject({ method: 'GET', url: '/healthz' }),
      await test.app.inject({ method: 'GET', url: '/nope' }),
      await test.app.inject({ method: 'GET', url: '/admin/apps' }),
      await test.app.inject({ method: 'POST', url: '/session', headers: { origin: 'https://evil.example' } }),
    ];
    for (const response of responses) expect(response.headers['cache-control']).toBe('no-store');
  });
});

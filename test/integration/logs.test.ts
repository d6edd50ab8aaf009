import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApp, resolveTicket, startTestApp, Visitor, type TestApp } from '../support/app.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

interface LogLine {
  readonly correlationId?: unknown;
  readonly msg?: string;
  readonly level?: number;
  readonly statusCode?: number;
  readonly err?: { message?: string };
}

/** The log lines written since `from`, each parsed; a line that is not JSON fails the parse. */
function linesSince(from: number): { text: string; lines: LogLine[] } {
  const text = test.logs.slice(from).join('');
  const lines = text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as LogLine);
  return { text, lines };
}

/** Labels of the needles that occur in the log text. */
const leaked = (text: string, needles: Record<string, string>) =>
  Object.entries(needles).filter(([, needle]) => needle !== '' && text.includes(needle)).map(([label]) => label);

const identityData = { email: 'log.person@example.org', name: 'Lorelei Logwood', phone: '+44 20 7946 0958' };
const spoofedIp = '198.51.100.23';

describe('logs', () => {
  it('carry a correlation id and no IP, token, ticket, key, cookie or identity data, on every route and error', async () => {
    const from = test.logs.length;
    const app = await registerApp(test, 'logs');
    const visitor = new Visitor(test.app);
    const responses: LightMyRequestResponse[] = [];
    const record = async (pending: Promise<LightMyRequestResponse>) => {
      const response = await pending;
      responses.push(response);
      return response;
    };
    const inject = (options: InjectOptions) => record(test.app.inject(options));
    const admin = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
      inject({ method, url, headers: { ...test.adminHeaders, 'x-forwarded-for': spoofedIp }, ...(payload ? { payload } : {}) });

    // Operations routes and docs.
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/docs/json']) {
      await inject({ method: 'GET', url });
    }

    // The visitor's routes, with identity data and a forwarded-for header a proxy might add.
    const { persona } = await visitor.start();
    const headers = { 'x-forwarded-for': spoofedIp, 'user-agent': 'log-test-agent' };
    await record(visitor.request('GET', '/session', undefined, headers));
    await record(visitor.request('POST', '/session', undefined, headers));
    await record(visitor.request('POST', '/identity-link', { identityData, consent: true }, headers));
    await record(visitor.request('GET', '/identity-link', undefined, headers));
    await record(visitor.request('DELETE', '/identity-link', undefined, headers));
    const rawToken = visitor.token.split('.')[0] ?? '';

    // Tickets: issued, then refused for an unknown app, a malformed app id, and from another site.
    const tickets: string[] = [];
    const issueTicket = async (appId: string, extra: Record<string, string> = {}) => {
      const response = await record(visitor.request('POST', '/session/app-ticket', { appId }, { ...headers, ...extra }));
      if (response.statusCode === 201) tickets.push(String(response.json().ticket));
      return response;
    };
    expect((await issueTicket(app.id)).statusCode).toBe(201);
    expect((await issueTicket('00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    expect((await issueTicket(rawToken)).statusCode).toBe(400);
    expect((await issueTicket(app.id, { 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    const ticket = tickets[0] ?? '';
    const middle = Math.floor(ticket.length / 2);
    const tampered = ticket.slice(0, middle) + (ticket[middle] === 'A' ? 'B' : 'A') + ticket.slice(middle + 1);

    // The app API: success, a wrong key, a tampered ticket, the raw token where a ticket belongs,
    // and the old `token` property (a validation error that must not echo its value).
    await record(resolveTicket(test, app.apiKey, ticket));
    await record(resolveTicket(test, `${app.apiKey}x`, ticket));
    expect((await record(resolveTicket(test, app.apiKey, tampered))).json().code).toBe('INVALID_TICKET');
    expect((await record(resolveTicket(test, app.apiKey, rawToken))).json().code).toBe('INVALID_TICKET');
    const oldShape = { token: visitor.token, ticket };
    const refusedShape = await inject({ method: 'POST', url: '/apps/resolve', headers: { authorization: `Bearer ${app.apiKey}` }, payload: oldShape });
    expect(refusedShape.json().code).toBe('VALIDATION_FAILED');

    // The admin API, including its failures.
    const second = await admin('POST', '/admin/apps', { name: 'second' });
    const secondKey = String(second.json().apiKey);
    await admin('GET', '/admin/apps');
    await admin('DELETE', `/admin/apps/${second.json().app.id}`);
    await admin('DELETE', '/admin/apps/00000000-0000-4000-8000-000000000000');
    await admin('POST', '/admin/bans', { subject: { personaId: persona.id }, reason: 'logs' });
    await record(visitor.request('POST', '/identity-link', { identityData, consent: true })); // 403 BANNED
    expect((await issueTicket(app.id)).statusCode).toBe(201); // still allowed when banned
    expect((await record(resolveTicket(test, app.apiKey, tickets.at(-1) ?? ''))).json().banned).toBe(true);
    await admin('POST', '/admin/bans/lift', { subject: { personaId: persona.id } });
    await admin('POST', '/admin/bans', { subject: { authorId: 'nobody' }, reason: 'logs' }); // 404
    const wrongAdmin = 'not-the-admin-token-but-secret-looking-0123456789';
    await inject({ method: 'GET', url: '/admin/apps', headers: { authorization: `Bearer ${wrongAdmin}` } });
    await inject({ method: 'GET', url: '/admin/apps' });

    // Error paths: bad JSON, validation, unknown route (with a token in the query), too large,
    // wrong media type, cross-site, and a caller-supplied correlation id.
    const cookie = { cookie: `anon_id=${visitor.cookie}` };
    const postLink = (payload: string | object, contentType = 'application/json') =>
      inject({ method: 'POST', url: '/identity-link', headers: { ...cookie, 'content-type': contentType }, payload });
    const email = { email: identityData.email };
    await postLink(`{"identityData":{"email":"${identityData.email}"`);
    await postLink({ identityData: email, consent: true, extra: identityData.name });
    await postLink({ identityData: email, consent: false });
    await inject({ method: 'GET', url: `/nowhere?token=${rawToken}&email=${identityData.email}`, headers: cookie });
    await inject({ method: 'GET', url: `/session?token=${rawToken}`, headers: cookie });
    await inject({ method: 'GET', url: `/nowhere?ticket=${ticket}`, headers: cookie });
    await postLink({ identityData: { ...email, note: 'x'.repeat(9000) }, consent: true });
    await postLink(`<email>${identityData.email}</email>`, 'application/xml');
    await inject({ method: 'POST', url: '/session', headers: { ...cookie, origin: 'https://evil.example' } });
    await inject({ method: 'PUT', url: '/session', headers: cookie });
    const traced = await inject({ method: 'GET', url: '/healthz', headers: { 'x-correlation-id': 'trace-logs-0001' } });
    expect(traced.headers['x-correlation-id']).toBe('trace-logs-0001');

    // Every error class above really happened (otherwise the log check would prove little).
    const codes = new Set(responses.map((response) => response.statusCode));
    for (const status of [200, 201, 400, 401, 403, 404, 413, 415]) expect(codes).toContain(status);

    expect(tickets).toHaveLength(2);
    const { text, lines } = linesSince(from);
    const setCookies = responses.flatMap((response) => response.cookies.map((c) => c.value));
    const needles: Record<string, string> = {
      'IP address': '127.0.0.1',
      'forwarded IP': spoofedIp,
      remoteAddress: 'remoteAddress',
      remotePort: 'remotePort',
      'user agent': 'log-test-agent',
      'raw token': rawToken,
      'cookie value': visitor.token,
      'cookie as sent': visitor.cookie ?? '',
      ...Object.fromEntries(setCookies.map((value, i) => [`set-cookie ${i}`, value])),
      ...Object.fromEntries(tickets.map((value, i) => [`ticket ${i}`, value])),
      ...Object.fromEntries(tickets.map((value, i) => [`ticket ${i} (sealed part)`, value.slice('at1.'.length)])),
      'tampered ticket': tampered,
      'api key': app.apiKey,
      'second api key': secondKey,
      'admin token': test.config.secrets.adminToken,
      'wrong admin token': wrongAdmin,
      ...Object.fromEntries(Object.entries(identityData).map(([key, value]) => [`identity ${key}`, value])),
    };
    expect(leaked(text, needles)).toEqual([]);

    // Every line carries a correlation id, and each request's line carries its response's id.
    expect(lines.length).toBeGreaterThanOrEqual(responses.length);
    expect(lines.filter((line) => typeof line.correlationId !== 'string' || line.correlationId === '')).toEqual([]);
    for (const response of responses) {
      const id = response.headers['x-correlation-id'];
      expect(id, `${response.statusCode} ${response.body.slice(0, 80)}`).toEqual(expect.any(String));
      const line = lines.find((l) => l.correlationId === id && /^request (completed|failed)$/.test(l.msg ?? ''));
      expect(line?.statusCode, `log line for ${String(id)}`).toBe(response.statusCode);
    }
  });

  it('log an internal error under its correlation id, without the driver\'s detail', async () => {
    const from = test.logs.length;
    const detail = `Key (email)=(${identityData.email}) already exists.`;
    // A failing database write, as a constraint error would be, whose detail quotes a value.
    await sql`create function personae_test_fail() returns trigger language plpgsql as $$ begin
      raise exception 'identity store unavailable' using detail = ${sql.lit(detail)}, hint = 'hint-marker-77';
    end; $$`.execute(test.database.db);
    await sql`create trigger personae_test_fail before insert on identity_links
      for each row execute function personae_test_fail()`.execute(test.database.db);
    try {
      const response = await new Visitor(test.app).request('POST', '/identity-link', { identityData, consent: true });
      expect(response.statusCode).toBe(500);
      expect(response.json().code).toBe('INTERNAL_ERROR');
      expect(response.body).not.toContain('identity store unavailable');

      const { text, lines } = linesSince(from);
      const id = response.headers['x-correlation-id'];
      const error = lines.find((line) => line.correlationId === id && line.level === 50);
      expect(error?.err?.message).toContain('identity store unavailable');
      expect(lines.find((line) => line.correlationId === id && line.msg === 'request completed')?.statusCode).toBe(500);
      expect(leaked(text, { detail, email: identityData.email, hint: 'hint-marker-77', ip: '127.0.0.1' })).toEqual([]);
    } finally {
      await sql`drop trigger personae_test_fail on identity_links`.execute(test.database.db);
      await sql`drop function personae_test_fail()`.execute(test.database.db);
    }
  });

  it('give a malformed URL a typed error and a log line under a correlation id, like any request', async () => {
    const from = test.logs.length;
    const response = await test.app.inject({ method: 'GET', url: '/session%zz' });
    expect(response.statusCode).toBe(400);
    const id = response.headers['x-correlation-id'];
    expect(response.json()).toMatchObject({ code: expect.stringMatching(/^[A-Z][A-Z0-9_]*$/), correlationId: id });
    expect(linesSince(from).lines.some((line) => line.correlationId === id)).toBe(true);
  });

  it('by default (ACCESS_LOG=slow) write no line for a quick answer, and one for a failed (5xx) request', async () => {
    // The test environment logs every request (ACCESS_LOG=all); this node runs the service's default.
    const node = await startTestApp({ env: { ACCESS_LOG: 'slow' }, database: test.database });
    const requestLines = (from: number, id: unknown) =>
      node.logs.slice(from).join('').split('\n').filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as LogLine)
        .filter((line) => line.correlationId === id && /^request (completed|failed)$/.test(line.msg ?? ''));
    await sql`create function personae_test_fail_quick() returns trigger language plpgsql as $$ begin
      raise exception 'identity store unavailable';
    end; $$`.execute(test.database.db);
    try {
      // A quick 200 and a refused request: counted in the metrics, not logged line by line.
      let from = node.logs.length;
      const fine = await node.app.inject({ method: 'GET', url: '/healthz' });
      const refused = await node.app.inject({ method: 'GET', url: '/identities/nobody_here' });
      expect([fine.statusCode, refused.statusCode]).toEqual([200, 404]);
      expect(requestLines(from, fine.headers['x-correlation-id'])).toEqual([]);
      expect(requestLines(from, refused.headers['x-correlation-id'])).toEqual([]);

      // A 5xx is logged whatever its duration (a database write that fails, as in the test above).
      await sql`create trigger personae_test_fail_quick before insert on identity_links
        for each row execute function personae_test_fail_quick()`.execute(test.database.db);
      from = node.logs.length;
      const failed = await new Visitor(node.app).request('POST', '/identity-link', { identityData, consent: true });
      expect(failed.statusCode).toBe(500);
      expect(requestLines(from, failed.headers['x-correlation-id'])).toMatchObject([{ statusCode: 500, msg: 'request completed' }]);
    } finally {
      await sql`drop trigger if exists personae_test_fail_quick on identity_links`.execute(test.database.db);
      await sql`drop function personae_test_fail_quick()`.execute(test.database.db);
      await node.close();
    }
  });
});

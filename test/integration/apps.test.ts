import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  randomSecret,
  registerApp,
  resolveForApp,
  resolveTicket,
  startTestApp,
  ticketFor,
  Visitor,
  type TestApp,
} from '../support/app.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

const PERSON_HASH = /^k1\.[A-Za-z0-9_-]{43}$/;

const admin = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = test.adminHeaders) =>
  test.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

const auditRows = (action: string, target: string) =>
  test.database.db.selectFrom('audit_log').selectAll().where('action', '=', action).where('target', '=', target).execute();

/** Every row of every table in the public schema, as text: where a secret would show if it were stored. */
async function everyStoredValue(): Promise<string> {
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'
  `.execute(test.database.db);
  const dumps = await Promise.all(
    tables.rows.map((table) => sql<{ row: string }>`select t::text as row from ${sql.table(table.name)} t`.execute(test.database.db)),
  );
  return dumps.flatMap((dump) => dump.rows.map((r) => r.row)).join('\n');
}

describe('app registration (admin)', () => {
  it('answers 201 with the app and its API key, audited with the request\'s correlation id', async () => {
    const response = await admin('POST', '/admin/apps', { name: 'forum' });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['apiKey', 'app', 'correlationId']);
    expect(body.app).toEqual({ id: expect.any(String), name: 'forum', createdAt: expect.any(String), revoked: false });
    expect(new Date(body.app.createdAt).toISOString()).toBe(body.app.createdAt);
    expect(body.apiKey).toMatch(/^pk_app_[A-Za-z0-9_-]{43}$/);

    const [audit, ...more] = await auditRows('app.create', body.app.id);
    expect(more).toHaveLength(0);
    expect(audit).toMatchObject({ actor: 'admin', correlation_id: body.correlationId });
    expect(body.correlationId).toBe(response.headers['x-correlation-id']);
  });

  it('shows the key once: the listing carries no key', async () => {
    const { id, apiKey } = await registerApp(test, 'listed');
    const response = await admin('GET', '/admin/apps');
    expect(response.statusCode).toBe(200);
    const listed = response.json().apps.find((app: { id: string }) => app.id === id);
    expect(listed).toEqual({ id, name: 'listed', createdAt: expect.any(String), revoked: false });
    expect(response.body).not.toContain(apiKey);
    expect(response.body).not.toMatch(/apiKey|pk_app_/);
  });

  it('stores the key only as a keyed hash, and the key itself nowhere', async () => {
    const { id, apiKey } = await registerApp(test, 'hashed');
    const row = await test.database.db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    // PGlite answers bytea as a Uint8Array, node-postgres as a Buffer.
    const hash = Buffer.from(row.api_key_hash);
    expect(hash.toString('utf8')).not.toBe(apiKey);
    expect(hash).toHaveLength(32);
    // Keyed: not a bare SHA-256 that anyone holding the database could check guesses against.
    expect(hash.equals(createHash('sha256').update(apiKey).digest())).toBe(false);
    const stored = await everyStoredValue();
    expect(stored).not.toContain(apiKey);
    expect(stored).not.toContain(apiKey.slice('pk_app_'.length));
    expect(stored).not.toContain(Buffer.from(apiKey).toString('hex'));
  });

  it.each([
    ['without a token', () => ({})],
    ['with a wrong token', () => ({ authorization: 'Bearer not-the-admin-token-not-the-admin-token' })],
    ['with the right token but not as a bearer', () => ({ authorization: test.config.secrets.adminToken })],
  ])('refuses admin routes %s: 401 ADMIN_UNAUTHORIZED, nothing changes', async (_case, headersOf) => {
    const headers: Record<string, string> = headersOf();
    const { id } = await registerApp(test, 'guarded');
    const before = await test.database.db.selectFrom('apps').selectAll().orderBy('id').execute();
    const attempts = [
      admin('POST', '/admin/apps', { name: 'sneaky' }, headers),
      admin('GET', '/admin/apps', undefined, headers),
      admin('DELETE', `/admin/apps/${id}`, undefined, headers),
      admin('POST', '/admin/bans', { subject: { personaId: id }, reason: 'x' }, headers),
      admin('POST', '/admin/bans/lift', { subject: { personaId: id } }, headers),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ code: 'ADMIN_UNAUTHORIZED', message: expect.any(String), correlationId: expect.any(String) });
    }
    expect(await test.database.db.selectFrom('apps').selectAll().orderBy('id').execute()).toEqual(before);
  });

  it('revokes an app once: again, or an unknown id, is 404 APP_NOT_FOUND', async () => {
    const { id } = await registerApp(test, 'revocable');
    const response = await admin('DELETE', `/admin/apps/${id}`);
    expect(response.statusCode).toBe(200);
    expect(response.json().revoked).toBe(true);
    const [audit, ...more] = await auditRows('app.revoke', id);
    expect(more).toHaveLength(0);
    expect(audit).toMatchObject({ actor: 'admin', correlation_id: response.json().correlationId });

    const listed = (await admin('GET', '/admin/apps')).json().apps.find((app: { id: string }) => app.id === id);
    expect(listed.revoked).toBe(true);

    for (const target of [id, '00000000-0000-4000-8000-000000000000']) {
      const again = await admin('DELETE', `/admin/apps/${target}`);
      expect(again.statusCode).toBe(404);
      expect(again.json().code).toBe('APP_NOT_FOUND');
    }
    expect(await auditRows('app.revoke', id)).toHaveLength(1);
  });
});

describe('POST /apps/resolve: app authentication', () => {
  it('refuses no key, a wrong key, the admin token and a revoked key with 401 APP_UNAUTHORIZED', async () => {
    const visitor = new Visitor(test.app);
    await visitor.start();
    const app = await registerApp(test, 'soon-revoked');
    expect((await resolveForApp(test, app, visitor)).statusCode).toBe(200);
    // A ticket issued while the app was active: only the key can be the reason for refusal.
    const ticket = await ticketFor(visitor, app.id);
    expect((await admin('DELETE', `/admin/apps/${app.id}`)).statusCode).toBe(200);

    const { apiKey } = app;
    const noKey = await test.app.inject({ method: 'POST', url: '/apps/resolve', payload: { ticket } });
    const wrongKeys = ['pk_app_' + 'A'.repeat(43), apiKey.slice(0, -1) + (apiKey.endsWith('A') ? 'B' : 'A'), test.config.secrets.adminToken, apiKey];
    for (const response of [noKey, ...(await Promise.all(wrongKeys.map((key) => resolveTicket(test, key, ticket))))]) {
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ code: 'APP_UNAUTHORIZED', message: expect.any(String), correlationId: expect.any(String) });
    }
  });

  /** One character of the sealed part changed, far from the prefix and from the padding bits at the end. */
  const flipMiddle = (ticket: string) => {
    const at = Math.floor(ticket.length / 2);
    return ticket.slice(0, at) + (ticket[at] === 'A' ? 'B' : 'A') + ticket.slice(at + 1);
  };

  it.each([
    ['garbage', () => 'not-a-ticket'],
    ['prefix-only', () => 'at1.'],
    ['unprefixed', (ticket: string) => ticket.slice('at1.'.length)],
    ['wrong-version', (ticket: string) => `at2.${ticket.slice('at1.'.length)}`],
    ['truncated', (ticket: string) => ticket.slice(0, -8)],
    ['tampered', flipMiddle],
    ['unsealed (a forged plaintext ticket)', (_ticket: string, appId: string) =>
      `at1.${Buffer.from(JSON.stringify({ h: Buffer.alloc(32).toString('base64url'), a: appId, e: 4_102_444_800 })).toString('base64url')}`],
    ['raw cookie value (the old token)', (_ticket: string, _appId: string, visitor: Visitor) => visitor.token],
  ])('answers 400 INVALID_TICKET for a %s ticket', async (_kind, spoil) => {
    const app = await registerApp(test, 'strict');
    const visitor = new Visitor(test.app);
    await visitor.start();
    const ticket = await ticketFor(visitor, app.id);
    const response = await resolveTicket(test, app.apiKey, spoil(ticket, app.id, visitor));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ code: 'INVALID_TICKET', message: expect.any(String), correlationId: expect.any(String) });
    // The genuine ticket still works: the refusal was the spoiling's doing.
    expect((await resolveTicket(test, app.apiKey, ticket)).statusCode).toBe(200);
  });

  it('refuses the old `token` property, and a missing ticket, with 400 VALIDATION_FAILED', async () => {
    const app = await registerApp(test, 'old-client');
    const visitor = new Visitor(test.app);
    await visitor.start();
    const ticket = await ticketFor(visitor, app.id);
    const resolve = (payload: object) =>
      test.app.inject({ method: 'POST', url: '/apps/resolve', headers: { authorization: `Bearer ${app.apiKey}` }, payload });
    for (const payload of [{ token: visitor.token }, { ticket, token: visitor.token }, {}, { ticket: '' }]) {
      const response = await resolve(payload);
      expect(response.statusCode, JSON.stringify(Object.keys(payload))).toBe(400);
      expect(response.json().code).toBe('VALIDATION_FAILED');
    }
  });
});

describe('POST /apps/resolve: what an app learns', () => {
  it('answers "not started" for a visitor with a cookie but no state, and creates nothing', async () => {
    const app = await registerApp(test, 'lazy');
    const visitor = new Visitor(test.app);
    await visitor.request('GET', '/session');
    const response = await resolveForApp(test, app, visitor);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ started: false, persona: null, banned: false, reviewRequired: false, personHash: null, correlationId: expect.any(String) });
    expect((await visitor.request('GET', '/session')).json().started).toBe(false);
  });

  it('with start: true, starts the guest the browser then sees as its own', async () => {
    const app = await registerApp(test, 'starter');
    const visitor = new Visitor(test.app);
    await visitor.request('GET', '/session');
    const resolved = (await resolveForApp(test, app, visitor, true)).json();
    expect(resolved).toMatchObject({ started: true, banned: false });
    expect(resolved.personHash).toMatch(PERSON_HASH);
    const session = (await visitor.request('GET', '/session')).json();
    expect(session).toMatchObject({ started: true, banned: false });
    expect(session.persona).toEqual(resolved.persona);
  });

  it('answers a started visitor\'s persona exactly as GET /session does, not banned, with a person hash', async () => {
    const app = await registerApp(test, 'reader');
    const visitor = new Visitor(test.app);
    await visitor.start();
    const session = (await visitor.request('GET', '/session')).json();
    const resolved = (await resolveForApp(test, app, visitor)).json();
    expect(Object.keys(resolved).sort()).toEqual(['banned', 'correlationId', 'personHash', 'persona', 'reviewRequired', 'started']);
    expect(resolved.persona).toEqual(session.persona);
    expect(Object.keys(resolved.persona).sort()).toEqual(['authorId', 'displayName', 'id', 'trustLevel', 'verified']);
    expect(resolved).toMatchObject({ started: true, banned: false });
    expect(resolved.personHash).toMatch(PERSON_HASH);
  });
});

describe('pairwise person hashes', () => {
  it('are stable for one person in one app, across calls', async () => {
    const app = await registerApp(test, 'stable');
    const visitor = new Visitor(test.app);
    await visitor.start();
    const hashes: string[] = [];
    for (let i = 0; i < 3; i++) hashes.push((await resolveForApp(test, app, visitor)).json().personHash);
    expect(new Set(hashes).size).toBe(1);
    expect(hashes[0]).toMatch(PERSON_HASH);
  });

  it('differ, unrelated, for one person in two apps', async () => {
    const [a, b] = [await registerApp(test, 'app-a'), await registerApp(test, 'app-b')];
    const visitor = new Visitor(test.app);
    await visitor.start();
    const inA: string = (await resolveForApp(test, a, visitor)).json().personHash;
    const inB: string = (await resolveForApp(test, b, visitor)).json().personHash;
    expect(inA).not.toBe(inB);
    // Unrelated: neither contains the other nor shares more than a chance prefix after the key id.
    const [macA, macB] = [inA.slice(3), inB.slice(3)];
    expect(macA.slice(0, 6)).not.toBe(macB.slice(0, 6));
    expect(macA).not.toContain(macB.slice(0, 16));
  });

  it('differ for two people in one app', async () => {
    const app = await registerApp(test, 'crowd');
    const [one, two] = [new Visitor(test.app), new Visitor(test.app)];
    await Promise.all([one.start(), two.start()]);
    const [h1, h2] = await Promise.all([one, two].map(async (v) => (await resolveForApp(test, app, v)).json().personHash));
    expect(h1).toMatch(PERSON_HASH);
    expect(h2).toMatch(PERSON_HASH);
    expect(h1).not.toBe(h2);
  });

  it('stay as handed out when pseudonym keys rotate; new pairs get the new key', async () => {
    const app = await registerApp(test, 'long-lived');
    const visitor = new Visitor(test.app);
    await visitor.start();
    const before: string = (await resolveForApp(test, app, visitor)).json().personHash;

    // The same service restarted with k2 as current key (k1 kept), on the same database.
    const { secrets } = test.config;
    const rotated = await startTestApp({
      database: test.database,
      env: {
        COOKIE_SECRETS: secrets.cookieSecrets.join(','),
        TOKEN_HASH_KEY: secrets.tokenHashKey,
        ADMIN_TOKEN: secrets.adminToken,
        PSEUDONYM_KEYS: [`k2:${randomSecret()}`, ...secrets.pseudonymKeys.map((key) => `${key.id}:${key.secret}`)].join(','),
      },
    });
    try {
      // The same browser on the restarted service: the cookie, and tickets, carry over.
      const rotatedVisitor = new Visitor(rotated.app);
      rotatedVisitor.cookie = visitor.cookie;
      expect((await resolveTicket(rotated, app.apiKey, await ticketFor(visitor, app.id))).json().personHash).toBe(before);
      expect((await resolveForApp(rotated, app, rotatedVisitor)).json().personHash).toBe(before);
      const fresh = await registerApp(rotated, 'after-rotation');
      expect((await resolveForApp(rotated, fresh, rotatedVisitor)).json().personHash).toMatch(/^k2\.[A-Za-z0-9_-]{43}$/);
    } finally {
      await rotated.close();
    }
  });
});

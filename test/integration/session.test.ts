import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

const countRows = async (table: 'accounts' | 'sessions' | 'personas' | 'accountability_profiles') =>
  Number((await test.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

describe('the anon_id cookie', () => {
  it('is issued on a first visit with the attributes spec 001 fixes', async () => {
    const response = await test.app.inject({ method: 'GET', url: '/session' });
    expect(response.statusCode).toBe(200);
    const header = String(response.headers['set-cookie']);
    expect(header).toMatch(/^anon_id=[^;]+; /);
    expect(header).toContain('Max-Age=315360000');
    expect(header).toContain('Path=/');
    expect(header).toContain('HttpOnly');
    expect(header).toContain('Secure');
    expect(header).toContain('SameSite=Lax');
    expect(header).not.toMatch(/Domain=/i);
  });

  it('keeps a valid cookie as it is and answers the same identity', async () => {
    const visitor = new Visitor(test.app);
    const started = await visitor.start();
    const cookie = visitor.cookie;
    const again = await visitor.request('GET', '/session');
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(visitor.cookie).toBe(cookie);
    expect(again.json().persona).toEqual(started.persona);
  });

  it.each([
    ['tampered', (cookie: string) => cookie.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))],
    ['unsigned', (cookie: string) => cookie.split('.').slice(0, 2).join('.')],
    ['malformed', () => 'not-a-cookie'],
    ['empty', () => ''],
    ['oversized', () => 'x'.repeat(4000)],
  ])('treats a %s cookie as absent: a new one, never a 500', async (_kind, spoil) => {
    const visitor = new Visitor(test.app);
    await visitor.start();
    const spoiled = spoil(visitor.cookie ?? '');
    const response = await test.app.inject({ method: 'GET', url: '/session', headers: { cookie: `anon_id=${spoiled}` } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ started: false, persona: null });
    const issued = response.cookies.find((cookie) => cookie.name === 'anon_id');
    expect(issued?.value).toBeTruthy();
    expect(issued?.value).not.toBe(visitor.cookie);
  });

  it('treats a cookie signed with a key the service does not know as absent', async () => {
    const other = await startTestApp();
    try {
      const stranger = new Visitor(other.app);
      await stranger.start();
      const response = await test.app.inject({ method: 'GET', url: '/session', headers: { cookie: `anon_id=${stranger.cookie}` } });
      expect(response.statusCode).toBe(200);
      expect(response.json().started).toBe(false);
      expect(response.cookies.find((cookie) => cookie.name === 'anon_id')?.value).not.toBe(stranger.cookie);
    } finally {
      await other.close();
    }
  });
});

describe('lazy state', () => {
  it('creates nothing in the database for cookie-less visits (crawlers)', async () => {
    const before = await Promise.all([countRows('accounts'), countRows('sessions'), countRows('personas')]);
    for (let i = 0; i < 25; i++) {
      const response = await test.app.inject({ method: 'GET', url: '/session' });
      expect(response.json().started).toBe(false);
    }
    expect(await Promise.all([countRows('accounts'), countRows('sessions'), countRows('personas')])).toEqual(before);
  });
});

describe('POST /session', () => {
  it('starts a guest: account, accountability profile and a default persona with a generated name', async () => {
    const visitor = new Visitor(test.app);
    const response = await visitor.request('POST', '/session');
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({ started: true, anonymous: true, banned: false });
    expect(body.persona.displayName).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+ \d{5}$/);
    expect(body.persona.trustLevel).toBe('NEW');
    expect(body.persona.authorId).toMatch(/^k1\.[A-Za-z0-9_-]{24}$/);
    expect(body.correlationId).toBe(response.headers['x-correlation-id']);
  });

  it('is idempotent: a second start answers the same guest with 200', async () => {
    const visitor = new Visitor(test.app);
    const first = await visitor.start();
    const second = await visitor.request('POST', '/session');
    expect(second.statusCode).toBe(200);
    expect(second.json().persona).toEqual(first.persona);
  });

  it('creates exactly one guest when the same cookie starts twenty times at once', async () => {
    const visitor = new Visitor(test.app);
    await visitor.request('GET', '/session');
    const before = await countRows('accounts');
    const responses = await Promise.all(Array.from({ length: 20 }, () => visitor.request('POST', '/session')));
    expect(responses.map((r) => r.statusCode).filter((s) => s === 201)).toHaveLength(1);
    expect(new Set(responses.map((r) => r.json().persona.id)).size).toBe(1);
    expect(await countRows('accounts')).toBe(before + 1);
  });

  it('starts forty cookie-less visitors at once, each whole: profile, account, persona, access and session', async () => {
    // Concurrent starts share statements (guest-batch.ts); each guest must still get all of its rows.
    const tables = ['accountability_profiles', 'accounts', 'personas', 'sessions'] as const;
    const before = await Promise.all(tables.map(countRows));
    const accessBefore = Number((await test.database.db.selectFrom('persona_access').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const visitors = Array.from({ length: 40 }, () => new Visitor(test.app));
    const started = await Promise.all(visitors.map((visitor) => visitor.request('POST', '/session')));
    expect(started.map((response) => response.statusCode)).toEqual(Array(40).fill(201));
    expect(await Promise.all(tables.map(countRows))).toEqual(before.map((n) => n + 40));
    const access = Number((await test.database.db.selectFrom('persona_access').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    expect(access).toBe(accessBefore + 40);
    const personas = started.map((response) => response.json().persona);
    expect(new Set(personas.map((persona) => persona.id)).size).toBe(40);
    // What the start answered is what the database holds: each cookie resolves to its own persona.
    const resolved = await Promise.all(visitors.map((visitor) => visitor.request('GET', '/session')));
    expect(resolved.map((response) => response.json().persona)).toEqual(personas);
  });

  it('gives two visitors two different personas and author ids', async () => {
    const [a, b] = [new Visitor(test.app), new Visitor(test.app)];
    const [pa, pb] = [await a.start(), await b.start()];
    expect(pa.persona.id).not.toBe(pb.persona.id);
    expect(pa.persona.authorId).not.toBe(pb.persona.authorId);
  });
});

describe('cookie refresh (browsers cap cookies at 400 days)', () => {
  it('re-issues the same token with a fresh date once a day has passed, keeping the identity', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const clocked = await startTestApp({ clock: { now: () => now } });
    try {
      const visitor = new Visitor(clocked.app);
      const started = await visitor.start();
      const token = visitor.token.split('.')[0];

      now = new Date('2026-01-01T20:00:00Z'); // within a day: nothing to do
      expect((await visitor.request('GET', '/session')).headers['set-cookie']).toBeUndefined();

      now = new Date('2026-01-02T01:00:00Z'); // a day later: refreshed
      const refreshed = await visitor.request('GET', '/session');
      expect(String(refreshed.headers['set-cookie'])).toContain('Max-Age=315360000');
      expect(visitor.token.split('.')[0]).toBe(token);
      expect(refreshed.json().persona).toEqual(started.persona);

      now = new Date('2027-01-20T00:00:00Z'); // 383 days on: still the same person
      expect((await visitor.request('GET', '/session')).json().persona).toEqual(started.persona);
      expect(visitor.token.split('.')[0]).toBe(token);
    } finally {
      await clocked.close();
    }
  });
});

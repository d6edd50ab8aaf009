import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { TICKET_LIFETIME_SECONDS } from '../../src/modules/apps/app-service.js';
import { registerApp, resolveForApp, resolveTicket, startTestApp, ticketFor, Visitor, type TestApp } from '../support/app.js';
import { Browser, newPerson } from '../support/browser.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

const TICKET = /^at1\.[A-Za-z0-9_-]+$/;
const PERSON_HASH = /^k1\.[A-Za-z0-9_-]{43}$/;

const issue = (visitor: Visitor, appId: unknown, headers: Record<string, string> = {}) =>
  visitor.request('POST', '/session/app-ticket', { appId }, headers);

const expectError = (response: Awaited<ReturnType<Visitor['request']>>, status: number, code: string) => {
  expect(response.statusCode).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: response.headers['x-correlation-id'] });
};

const started = async () => {
  const visitor = new Visitor(test.app);
  const { persona } = await visitor.start();
  return { visitor, persona };
};

const countRows = async () => {
  const db = test.database.db;
  const counts = await Promise.all(
    (['sessions', 'accounts', 'personas', 'accountability_profiles', 'app_person_hashes'] as const).map(
      async (table) => (await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n,
    ),
  );
  return counts.map(Number);
};

describe('POST /session/app-ticket', () => {
  it('issues a short-lived, opaque ticket, different on every issue', async () => {
    const app = await registerApp(test, 'issuer');
    const { visitor } = await started();
    const before = Date.now();
    const first = await issue(visitor, app.id);
    const after = Date.now();
    expect(first.statusCode).toBe(201);
    const body = first.json();
    expect(Object.keys(body).sort()).toEqual(['correlationId', 'expiresAt', 'ticket']);
    expect(body.correlationId).toBe(first.headers['x-correlation-id']);
    expect(body.ticket).toMatch(TICKET);
    expect(first.headers['cache-control']).toBe('no-store');
    expect(new Date(body.expiresAt).toISOString()).toBe(body.expiresAt);
    // now + 300 s, to the whole second.
    const expiresAt = new Date(body.expiresAt).getTime();
    expect(expiresAt).toBeGreaterThan(before + (TICKET_LIFETIME_SECONDS - 1) * 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + TICKET_LIFETIME_SECONDS * 1000);
    expect(TICKET_LIFETIME_SECONDS).toBe(300);

    const second = (await issue(visitor, app.id)).json().ticket;
    expect(second).toMatch(TICKET);
    expect(second).not.toBe(body.ticket);
  });

  it('answers 404 APP_NOT_FOUND for an unknown or revoked app, 400 VALIDATION_FAILED for a non-uuid', async () => {
    const { visitor } = await started();
    expectError(await issue(visitor, randomUUID()), 404, 'APP_NOT_FOUND');
    const revoked = await registerApp(test, 'gone');
    const revoke = await test.app.inject({ method: 'DELETE', url: `/admin/apps/${revoked.id}`, headers: test.adminHeaders });
    expect(revoke.statusCode).toBe(200);
    expectError(await issue(visitor, revoked.id), 404, 'APP_NOT_FOUND');
    for (const appId of ['not-a-uuid', '', 42, undefined]) expectError(await issue(visitor, appId), 400, 'VALIDATION_FAILED');
  });

  it('refuses another site with 403 CROSS_SITE, and accepts the same origin', async () => {
    const app = await registerApp(test, 'csrf');
    const { visitor } = await started();
    expectError(await issue(visitor, app.id, { 'sec-fetch-site': 'cross-site' }), 403, 'CROSS_SITE');
    expectError(await issue(visitor, app.id, { origin: 'https://evil.example' }), 403, 'CROSS_SITE');
    expect((await issue(visitor, app.id, { 'sec-fetch-site': 'same-origin' })).statusCode).toBe(201);
  });

  it('still introduces a banned visitor, and the app sees the ban', async () => {
    const app = await registerApp(test, 'moderated');
    const { visitor, persona } = await started();
    const ban = { subject: { personaId: persona.id }, reason: 'spam' };
    expect((await test.app.inject({ method: 'POST', url: '/admin/bans', headers: test.adminHeaders, payload: ban })).statusCode).toBe(200);
    expect((await issue(visitor, app.id)).statusCode).toBe(201);
    const resolved = (await resolveForApp(test, app, visitor)).json();
    expect(resolved).toMatchObject({ started: true, banned: true, persona });
    expect(resolved.personHash).toMatch(PERSON_HASH);
  });
});

describe('POST /apps/resolve with a ticket', () => {
  it('answers the visitor to the app the ticket was issued for', async () => {
    const app = await registerApp(test, 'right');
    const { visitor, persona } = await started();
    const response = await resolveForApp(test, app, visitor);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ started: true, banned: false, reviewRequired: false, persona, personHash: expect.stringMatching(PERSON_HASH), correlationId: expect.any(String) });
  });

  it('refuses app A\'s ticket presented by app B: 400 INVALID_TICKET, and B learns nothing', async () => {
    const [a, b] = [await registerApp(test, 'ticket-a'), await registerApp(test, 'ticket-b')];
    const { visitor, persona } = await started();
    const ticket = await ticketFor(visitor, a.id);
    const stolen = await resolveTicket(test, b.apiKey, ticket, true);
    expectError(stolen, 400, 'INVALID_TICKET');
    for (const value of [persona.id, persona.authorId, persona.displayName, 'k1.']) expect(stolen.body).not.toContain(value);
    const held = await test.database.db.selectFrom('app_person_hashes').select('app_id').where('app_id', '=', b.id).execute();
    expect(held).toEqual([]);
    // The same ticket still works for A, and B's own ticket for B.
    expect((await resolveTicket(test, a.apiKey, ticket)).json().persona).toEqual(persona);
    expect((await resolveForApp(test, b, visitor)).json().persona).toEqual(persona);
  });

  it('refuses a ticket with one character changed in the middle', async () => {
    const app = await registerApp(test, 'tamper');
    const { visitor } = await started();
    const ticket = await ticketFor(visitor, app.id);
    const at = Math.floor(ticket.length / 2);
    const tampered = ticket.slice(0, at) + (ticket[at] === 'A' ? 'B' : 'A') + ticket.slice(at + 1);
    expectError(await resolveTicket(test, app.apiKey, tampered), 400, 'INVALID_TICKET');
  });

  it('refuses an expired ticket', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const clocked = await startTestApp({ clock: { now: () => now } });
    try {
      const app = await registerApp(clocked, 'clocked');
      const visitor = new Visitor(clocked.app);
      await visitor.start();
      const issued = (await issue(visitor, app.id)).json();
      expect(issued.expiresAt).toBe('2026-01-01T00:05:00.000Z');
      now = new Date('2026-01-01T00:04:59Z'); // still within its 300 s
      expect((await resolveTicket(clocked, app.apiKey, issued.ticket)).statusCode).toBe(200);
      now = new Date('2026-01-01T00:05:01Z');
      expectError(await resolveTicket(clocked, app.apiKey, issued.ticket), 400, 'INVALID_TICKET');
      // A fresh ticket works again.
      expect((await resolveForApp(clocked, app, visitor)).statusCode).toBe(200);
    } finally {
      await clocked.close();
    }
  });

  it('for a visitor with a cookie but no state: start:false creates nothing, start:true starts the guest', async () => {
    const app = await registerApp(test, 'lazy-tickets');
    const visitor = new Visitor(test.app);
    await visitor.request('GET', '/session');
    const before = await countRows();
    const lazy = await resolveForApp(test, app, visitor);
    expect(lazy.statusCode).toBe(200);
    expect(lazy.json()).toEqual({ started: false, persona: null, banned: false, reviewRequired: false, personHash: null, correlationId: expect.any(String) });
    expect(await countRows()).toEqual(before);
    expect((await visitor.request('GET', '/session')).json().started).toBe(false);

    const eager = (await resolveForApp(test, app, visitor, true)).json();
    expect(eager).toMatchObject({ started: true, banned: false });
    expect(eager.personHash).toMatch(PERSON_HASH);
    const session = (await visitor.request('GET', '/session')).json();
    expect(session).toMatchObject({ started: true, banned: false });
    expect(session.persona).toEqual(eager.persona);
  });
});

describe('what a ticket carries', () => {
  it('nothing token-derived that an app could read: neither the raw token nor the stored token hash', async () => {
    const app = await registerApp(test, 'opaque');
    const { visitor } = await started();
    const rawToken = visitor.token.split('.')[0]!;
    const hash = new TokenHasher(test.config.secrets.tokenHashKey).hash('anonymous', rawToken);
    const stored = await test.database.db.selectFrom('sessions').select('token_hash').where('token_hash', '=', hash).executeTakeFirstOrThrow();
    const tokenHash = Buffer.from(stored.token_hash);
    const rawBytes = Buffer.from(rawToken, 'base64url');

    for (let i = 0; i < 3; i++) {
      const ticket = await ticketFor(visitor, app.id);
      const decoded = Buffer.from(ticket.slice('at1.'.length), 'base64url');
      expect(decoded.length).toBeGreaterThan(28); // iv and tag, then the sealed contents
      const texts = [ticket, decoded.toString('utf8'), decoded.toString('latin1'), decoded.toString('hex')].join('\n');
      for (const needle of [rawToken, visitor.token, tokenHash.toString('hex'), tokenHash.toString('base64url'), tokenHash.toString('base64').replace(/=+$/, ''), rawBytes.toString('hex')]) {
        expect(texts).not.toContain(needle);
      }
      expect(decoded.includes(rawBytes)).toBe(false);
      expect(decoded.includes(tokenHash)).toBe(false);
      expect(decoded.includes(tokenHash.subarray(0, 8))).toBe(false);
    }
  });
});

describe('ticket strings', () => {
  it('are refused when altered in any way, even by characters a lenient decoder would skip', async () => {
    const app = await registerApp(test, 'strict');
    const visitor = new Visitor(test.app);
    await visitor.start();
    const ticket = await ticketFor(visitor, app.id);
    expect((await resolveTicket(test, app.apiKey, ticket)).statusCode).toBe(200);
    for (const altered of [`${ticket}.`, `${ticket}=`, `${ticket}!!`, ticket.replace('at1.', 'at1.*'), ` ${ticket}`]) {
      const response = await resolveTicket(test, app.apiKey, altered);
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('INVALID_TICKET');
    }
  });
});

describe('a signed-in visitor', () => {
  it('is introduced to an app as the signed-in person, and no longer once signed out', async () => {
    const app = await registerApp(test, 'signed-in');
    const browser = new Browser(test.app);
    const guest = await browser.request('POST', '/session');
    const person = newPerson('ticket');
    expect((await browser.register(person)).statusCode).toBe(201);
    const signedIn = (await browser.session()).persona;

    const ticketOf = async () => (await browser.request('POST', '/session/app-ticket', { appId: app.id })).json().ticket as string;
    const resolved = (await resolveTicket(test, app.apiKey, await ticketOf())).json();
    expect(resolved).toMatchObject({ started: true, persona: { id: signedIn?.id } });
    expect(resolved.persona.id).not.toBe(guest.json().persona.id);

    // A ticket of a session that has ended resolves to nobody, and `start` cannot revive it as a guest.
    const stale = await ticketOf();
    expect((await browser.request('POST', '/auth/logout')).statusCode).toBe(200);
    expect((await resolveTicket(test, app.apiKey, stale, true)).json()).toMatchObject({ started: false, persona: null });
  });
});

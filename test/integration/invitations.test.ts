import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailBox, normalizeEmail } from '../../src/crypto/email-box.js';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { invitationTokenHash } from '../../src/modules/invitations/invitation.js';
import { startTestApp, Visitor, type TestApp } from '../support/app.js';
import { Browser, newPerson } from '../support/browser.js';
import { SmtpSink } from '../support/smtp-sink.js';

const ORIGIN = 'https://personae.example';
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let test: TestApp;
let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
  test = await startTestApp({ env: { SMTP_URL: sink.url, PUBLIC_ORIGIN: ORIGIN } });
  // An invite-only territory, an open one and a closed one beside the default `main`.
  for (const territory of [{ code: 'dk', name: 'Denmark', inviteOnly: true }, { code: 'se', name: 'Sweden' }, { code: 'xx', name: 'Closed' }]) {
    expect((await admin('POST', '/admin/territories', territory)).statusCode).toBe(201);
  }
  expect((await admin('PATCH', '/admin/territories/xx', { status: 'closed' })).statusCode).toBe(200);
});
afterAll(async () => {
  await test.close();
  await sink.close();
});

function admin(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object) {
  return test.app.inject({ method, url, headers: test.adminHeaders, ...(payload ? { payload } : {}) });
}

/** A registered, signed-in person; promoted to `trustLevel` by an operator unless NEW. */
async function person(trustLevel: 'NEW' | 'REGULAR' = 'REGULAR'): Promise<Browser> {
  const browser = new Browser(test.app);
  const registered = await browser.register(newPerson('inv'));
  expect(registered.statusCode, registered.body).toBe(201);
  if (trustLevel !== 'NEW') {
    const promoted = await admin('POST', `/admin/personas/${registered.json().personaId}/trust-level`, { trustLevel });
    expect(promoted.statusCode, promoted.body).toBe(200);
  }
  return browser;
}

const inspect = (token: string) => test.app.inject({ method: 'POST', url: '/invitations/inspect', payload: { token } });
const qr = (token: string, format: 'svg' | 'png') => test.app.inject({ method: 'POST', url: '/invitations/qr', payload: { token, format } });

describe('creating invitations', () => {
  it('an operator creates one: the token shown once with link and QR, stored only as a keyed hash, audited, evented', async () => {
    const response = await admin('POST', '/admin/invitations', { territory: 'dk', kind: 'group', maxUses: 10 });
    expect(response.statusCode, response.body).toBe(201);
    const created = response.json();
    expect(created.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.inviteLink).toBe(`${ORIGIN}/invite#${created.token}`);
    expect(created.invitation).toMatchObject({ territory: 'dk', kind: 'group', maxUses: 10, uses: 0, createdBy: 'admin', state: 'usable', hasEmail: false });
    expect(created.emailSent).toBeNull();
    // The QR pictures: an SVG document, and a PNG whose header is PNG's.
    expect(created.qr.svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(created.qr.png.startsWith('data:image/png;base64,')).toBe(true);
    expect(Buffer.from(created.qr.png.slice('data:image/png;base64,'.length), 'base64').subarray(0, 8)).toEqual(PNG_MAGIC);

    const row = await test.database.db.selectFrom('invitations').selectAll().where('id', '=', created.invitation.id).executeTakeFirstOrThrow();
    expect(Buffer.from(row.token_hash)).toEqual(invitationTokenHash(new TokenHasher(test.config.secrets.tokenHashKey), created.token));
    // No column of the invitation, its audit row or its event holds the token in any encoding.
    const token = created.token as string;
    const forms = [token, Buffer.from(token, 'base64url').toString('hex'), Buffer.from(token, 'base64url').toString('base64').replace(/=+$/, '')];
    for (const table of ['invitations', 'audit_log', 'outbox'] as const) {
      const dump = await sql<{ text: string }>`select t::text as text from ${sql.table(table)} t`.execute(test.database.db);
      for (const form of forms) expect(dump.rows.some((r) => r.text.includes(form)), `${table} holds the token`).toBe(false);
    }
    const event = await test.database.db.selectFrom('outbox').select(['type', 'payload']).where('type', '=', 'InvitationCreated').executeTakeFirstOrThrow();
    expect(event.payload).toMatchObject({ invitationId: created.invitation.id, territory: 'dk', kind: 'group', createdBy: 'admin' });
    const audit = await test.database.db.selectFrom('audit_log').select(['actor', 'action']).where('target', '=', `invitation:${created.invitation.id}`).execute();
    expect(audit).toEqual([{ actor: expect.any(String), action: 'invitation.create' }]);
  });

  it('a REGULAR person invites into their own territory; a NEW one gets TRUST_LEVEL_TOO_LOW, a guest SESSION_REQUIRED', async () => {
    const regular = await person('REGULAR');
    const created = await regular.request('POST', '/invitations', { kind: 'single_use' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().invitation).toMatchObject({ territory: 'main', kind: 'single_use', maxUses: 1, createdBy: 'person' });

    const newcomer = await person('NEW');
    const refused = await newcomer.request('POST', '/invitations', { kind: 'single_use' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('TRUST_LEVEL_TOO_LOW');
    const guest = new Visitor(test.app);
    await guest.start();
    expect((await guest.request('POST', '/invitations', { kind: 'single_use' })).json().code).toBe('SESSION_REQUIRED');
    // The policy decides: lowered to NEW, the newcomer may invite too.
    expect((await admin('PUT', '/admin/policies/min_trust_level_to_invite', { value: 'NEW' })).statusCode).toBe(200);
    try {
      expect((await newcomer.request('POST', '/invitations', { kind: 'single_use' })).statusCode).toBe(201);
    } finally {
      await admin('DELETE', '/admin/policies/min_trust_level_to_invite');
    }
  });

  it('people invite into their own or an open territory, never into an invite-only one they are not citizens of; nobody into a closed one', async () => {
    const regular = await person('REGULAR');
    expect((await regular.request('POST', '/invitations', { territory: 'se', kind: 'group' })).statusCode).toBe(201);
    expect((await regular.request('POST', '/invitations', { territory: 'dk', kind: 'group' })).json().code).toBe('INVITATION_REQUIRED');
    expect((await regular.request('POST', '/invitations', { territory: 'xx', kind: 'group' })).json().code).toBe('TERRITORY_CLOSED');
    expect((await regular.request('POST', '/invitations', { territory: 'zz', kind: 'group' })).json().code).toBe('TERRITORY_NOT_FOUND');
    expect((await admin('POST', '/admin/invitations', { territory: 'xx', kind: 'group' })).json().code).toBe('TERRITORY_CLOSED');
    // Bad terms change nothing.
    const before = await test.database.db.selectFrom('invitations').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    for (const [bad, code] of [
      [{ kind: 'single_use', maxUses: 5 }, 'VALIDATION_FAILED'],
      [{ kind: 'group', expiresAt: '2001-01-01T00:00:00Z' }, 'VALIDATION_FAILED'],
      [{ kind: 'group', handle: '4dm1n' }, 'HANDLE_RESERVED'],
      [{ kind: 'group', handle: 'no spaces' }, 'HANDLE_INVALID'],
      [{ kind: 'group', maxUses: 0 }, 'VALIDATION_FAILED'],
      [{ kind: 'forever' }, 'VALIDATION_FAILED'],
    ] as const) {
      expect((await regular.request('POST', '/invitations', bad)).json().code, JSON.stringify(bad)).toBe(code);
    }
    const after = await test.database.db.selectFrom('invitations').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  it('an invitation to an address is mailed there, and the address is stored only sealed, in the territory', async () => {
    const address = `invitee.${Date.now()}@example.org`;
    const response = await admin('POST', '/admin/invitations', { territory: 'dk', kind: 'single_use', email: ` ${address.toUpperCase()} `, handle: 'Invited_One' });
    expect(response.statusCode, response.body).toBe(201);
    const created = response.json();
    expect(created.emailSent).toBe(true);
    expect(created.invitation).toMatchObject({ hasEmail: true, invitedHandle: 'invited_one' });
    expect(response.body.toLowerCase()).not.toContain(address);
    const [mail] = sink.to(address);
    expect(mail?.subject).toBe('You are invited to Denmark');
    expect(mail?.text).toContain(`${ORIGIN}/invite#${created.token}`);

    const stored = await sql<{ invitation_id: string; lookup_key: Uint8Array; key_id: string; sealed: Uint8Array }>`
      select * from territory_dk.invitation_emails where invitation_id = ${created.invitation.id}`.execute(test.database.db);
    const row = stored.rows[0]!;
    const hasher = new TokenHasher(test.config.secrets.tokenHashKey);
    const box = new EmailBox(test.config.secrets.emailKeys, hasher);
    expect(Buffer.from(row.lookup_key)).toEqual(box.lookupKey(normalizeEmail(address)));
    expect(Buffer.from(row.sealed).toString('latin1')).not.toContain(address);
    expect(box.open(`invitation:${created.invitation.id}`, { keyId: row.key_id, sealed: Buffer.from(row.sealed) })).toBe(address);
    // Nothing of the address in the global schema.
    for (const table of ['invitations', 'audit_log', 'outbox'] as const) {
      const dump = await sql<{ text: string }>`select t::text as text from ${sql.table(table)} t`.execute(test.database.db);
      expect(dump.rows.some((r) => r.text.toLowerCase().includes(address))).toBe(false);
    }
  });
});

describe('managing invitations', () => {
  it('the creator lists, inspects, prints and revokes; others cannot see or touch it', async () => {
    const creator = await person('REGULAR');
    const created = (await creator.request('POST', '/invitations', { kind: 'group', maxUses: 3 })).json();
    const mine = (await creator.request('GET', '/invitations')).json();
    expect(mine.invitations.map((invitation: { id: string }) => invitation.id)).toEqual([created.invitation.id]);
    expect(JSON.stringify(mine)).not.toContain(created.token);

    const stranger = await person('REGULAR');
    expect((await stranger.request('GET', '/invitations')).json().invitations).toEqual([]);
    expect((await stranger.request('POST', `/invitations/${created.invitation.id}/revoke`)).json().code).toBe('INVITATION_NOT_FOUND');
    expect((await stranger.request('GET', `/invitations/${created.invitation.id}/uses`)).json().code).toBe('INVITATION_NOT_FOUND');

    const landing = await inspect(created.token);
    expect(landing.statusCode).toBe(200);
    expect(landing.json()).toMatchObject({ territory: { code: 'main', name: 'Main' }, kind: 'group', usable: true, invitedHandle: null, emailRequired: false });
    expect(landing.json().reason).toBeUndefined();
    expect((await inspect('x'.repeat(43))).json().code).toBe('INVITATION_INVALID');

    const svg = await qr(created.token, 'svg');
    expect(svg.statusCode).toBe(200);
    expect(svg.headers['content-type']).toContain('image/svg+xml');
    expect(svg.body).toMatch(/^<svg/);
    const png = await qr(created.token, 'png');
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(0, 8)).toEqual(PNG_MAGIC);

    const revoked = await creator.request('POST', `/invitations/${created.invitation.id}/revoke`);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().invitation).toMatchObject({ state: 'revoked', revokedAt: expect.any(String) });
    expect((await creator.request('POST', `/invitations/${created.invitation.id}/revoke`)).statusCode).toBe(200); // idempotent
    expect(await test.database.db.selectFrom('outbox').select('type').where('type', '=', 'InvitationRevoked').execute()).toHaveLength(1);
    expect((await inspect(created.token)).json()).toMatchObject({ usable: false, reason: 'revoked' });
    expect((await qr(created.token, 'svg')).json().code).toBe('INVITATION_REVOKED');
  });

  it('operators list by territory and revoke any invitation', async () => {
    const created = (await admin('POST', '/admin/invitations', { territory: 'se', kind: 'group' })).json();
    const listed = (await admin('GET', '/admin/invitations?territory=se')).json().invitations as Array<{ id: string; territory: string }>;
    expect(listed.map((invitation) => invitation.id)).toContain(created.invitation.id);
    expect(listed.every((invitation) => invitation.territory === 'se')).toBe(true);
    expect((await admin('POST', `/admin/invitations/${created.invitation.id}/revoke`)).json().invitation.state).toBe('revoked');
    expect((await admin('GET', `/admin/invitations/${created.invitation.id}/uses`)).json()).toMatchObject({ count: 0, usedOn: [] });
    expect((await test.app.inject({ method: 'GET', url: '/admin/invitations' })).statusCode).toBe(401);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenHasher } from '../../src/crypto/tokens.js';
import { registerApp, startTestApp, type TestApp } from '../support/app.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const call = (method: Method, url: string, headers: Record<string, string>, payload?: object) =>
  test.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

const auditCount = async () => (await test.database.db.selectFrom('audit_log').select('id').execute()).length;
const auditRows = (action: string, target: string) =>
  test.database.db.selectFrom('audit_log').selectAll().where('action', '=', action).where('target', '=', target).execute();

/** Issues a token with the bootstrap ADMIN_TOKEN and answers its id and raw value. */
async function issue(role: 'admin' | 'moderator', name = `${role} token`): Promise<{ id: string; token: string }> {
  const response = await call('POST', '/admin/tokens', test.adminHeaders, { name, role });
  expect(response.statusCode).toBe(201);
  const body = response.json();
  return { id: body.adminToken.id, token: body.token };
}

function expectError(response: Awaited<ReturnType<typeof call>>, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: response.headers['x-correlation-id'] });
}

describe('issuing admin tokens', () => {
  it('answers the token once, stores only its keyed hash, and audits the issue', async () => {
    const response = await call('POST', '/admin/tokens', test.adminHeaders, { name: 'Mo the moderator', role: 'moderator' });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['adminToken', 'correlationId', 'token']);
    expect(body.adminToken).toEqual({ id: expect.any(String), name: 'Mo the moderator', role: 'moderator', createdAt: expect.any(String), revoked: false });
    expect(body.token).toMatch(/^pk_admin_[A-Za-z0-9_-]{43}$/);

    const stored = await test.database.db.selectFrom('admin_tokens').selectAll().where('id', '=', body.adminToken.id).executeTakeFirstOrThrow();
    const storedHash = Buffer.from(stored.token_hash);
    expect(storedHash.equals(new TokenHasher(test.config.secrets.tokenHashKey).hash('admin-token', body.token))).toBe(true);
    // The hash is purpose-bound: the same token hashed as an app key would not match.
    expect(storedHash.equals(new TokenHasher(test.config.secrets.tokenHashKey).hash('api-key', body.token))).toBe(false);

    expect(await auditRows('admin-token.create', `admin-token:${body.adminToken.id}`)).toEqual([
      expect.objectContaining({ actor: 'admin', correlation_id: body.correlationId, detail: { name: 'Mo the moderator', role: 'moderator' } }),
    ]);
  });

  it('lists tokens without their hash or value, revoked ones marked', async () => {
    const kept = await issue('admin', 'kept');
    const gone = await issue('moderator', 'gone');
    expect((await call('DELETE', `/admin/tokens/${gone.id}`, test.adminHeaders)).statusCode).toBe(200);

    const response = await call('GET', '/admin/tokens', test.adminHeaders);
    expect(response.statusCode).toBe(200);
    const listed: Array<Record<string, unknown>> = response.json().adminTokens;
    expect(listed).toEqual(expect.arrayContaining([
      { id: kept.id, name: 'kept', role: 'admin', createdAt: expect.any(String), revoked: false },
      { id: gone.id, name: 'gone', role: 'moderator', createdAt: expect.any(String), revoked: true },
    ]));
    for (const entry of listed) expect(Object.keys(entry).sort()).toEqual(['createdAt', 'id', 'name', 'revoked', 'role']);
    expect(response.body).not.toContain(kept.token);
    expect(response.body).not.toContain(kept.token.slice('pk_admin_'.length));
  });

  it.each([
    ['an unknown role', { name: 'x', role: 'root' }],
    ['an empty name', { name: '', role: 'admin' }],
    ['a name too long', { name: 'x'.repeat(101), role: 'admin' }],
    ['a missing role', { name: 'x' }],
    ['an unknown property', { name: 'x', role: 'admin', scopes: ['all'] }],
  ])('refuses %s with 400 VALIDATION_FAILED and stores nothing', async (_case, payload) => {
    const before = await test.database.db.selectFrom('admin_tokens').select('id').execute();
    expectError(await call('POST', '/admin/tokens', test.adminHeaders, payload), 400, 'VALIDATION_FAILED');
    expect(await test.database.db.selectFrom('admin_tokens').select('id').execute()).toHaveLength(before.length);
  });
});

describe('authenticating with stored tokens', () => {
  it('lets an admin-role token do admin work, audited under its own actor', async () => {
    const { id, token } = await issue('admin');
    const response = await call('POST', '/admin/apps', bearer(token), { name: 'by-token' });
    expect(response.statusCode).toBe(201);
    expect(await auditRows('app.create', response.json().app.id)).toEqual([
      expect.objectContaining({ actor: `admin-token:${id}`, correlation_id: response.json().correlationId }),
    ]);
    // It may mint and revoke tokens too.
    const minted = await call('POST', '/admin/tokens', bearer(token), { name: 'minted', role: 'moderator' });
    expect(minted.statusCode).toBe(201);
    expect(await auditRows('admin-token.create', `admin-token:${minted.json().adminToken.id}`)).toEqual([
      expect.objectContaining({ actor: `admin-token:${id}` }),
    ]);
  });

  it('lets a moderator handle people but not apps or tokens (403 ADMIN_FORBIDDEN, nothing changed)', async () => {
    const { id, token } = await issue('moderator');
    const moderator = bearer(token);
    expect((await call('GET', '/admin/appeals', moderator)).statusCode).toBe(200);
    // A moderator route: the answer is about the subject, not the token.
    expectError(await call('POST', '/admin/bans', moderator, { subject: { personaId: randomUUID() }, reason: 'spam' }), 404, 'SUBJECT_NOT_FOUND');

    const app = await registerApp(test, 'guarded');
    const before = await auditCount();
    const refused: Array<[Method, string, object?]> = [
      ['POST', '/admin/apps', { name: 'sneaky' }],
      ['GET', '/admin/apps'],
      ['DELETE', `/admin/apps/${app.id}`],
      ['POST', '/admin/tokens', { name: 'escalate', role: 'admin' }],
      ['GET', '/admin/tokens'],
      ['DELETE', `/admin/tokens/${id}`],
    ];
    for (const [method, url, payload] of refused) expectError(await call(method, url, moderator, payload), 403, 'ADMIN_FORBIDDEN');
    expect(await auditCount()).toBe(before);
    const apps = (await call('GET', '/admin/apps', test.adminHeaders)).json().apps as Array<{ id: string; name: string; revoked: boolean }>;
    expect(apps.find((a) => a.id === app.id)?.revoked).toBe(false);
    expect(apps.map((a) => a.name)).not.toContain('sneaky');
    expect((await test.database.db.selectFrom('admin_tokens').select('id').where('name', '=', 'escalate').execute())).toEqual([]);
  });

  it('refuses a revoked token on the very next request, and a second revocation is 404', async () => {
    const { id, token } = await issue('admin');
    expect((await call('GET', '/admin/apps', bearer(token))).statusCode).toBe(200);
    const revoked = await call('DELETE', `/admin/tokens/${id}`, test.adminHeaders);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toEqual({ revoked: true, correlationId: revoked.headers['x-correlation-id'] });
    expect(await auditRows('admin-token.revoke', `admin-token:${id}`)).toEqual([
      expect.objectContaining({ actor: 'admin', correlation_id: revoked.json().correlationId }),
    ]);

    expectError(await call('GET', '/admin/apps', bearer(token)), 401, 'ADMIN_UNAUTHORIZED');
    expectError(await call('GET', '/admin/appeals', bearer(token)), 401, 'ADMIN_UNAUTHORIZED');
    expectError(await call('DELETE', `/admin/tokens/${id}`, test.adminHeaders), 404, 'ADMIN_TOKEN_NOT_FOUND');
    expectError(await call('DELETE', `/admin/tokens/${randomUUID()}`, test.adminHeaders), 404, 'ADMIN_TOKEN_NOT_FOUND');
    expectError(await call('DELETE', '/admin/tokens/not-a-uuid', test.adminHeaders), 400, 'VALIDATION_FAILED');
  });

  it('lets a token revoke itself', async () => {
    const { id, token } = await issue('admin');
    expect((await call('DELETE', `/admin/tokens/${id}`, bearer(token))).statusCode).toBe(200);
    expectError(await call('GET', '/admin/tokens', bearer(token)), 401, 'ADMIN_UNAUTHORIZED');
  });

  it('refuses every credential that is not a live admin token, before looking at the body', async () => {
    const app = await registerApp(test, 'not-an-admin');
    const { token } = await issue('admin');
    const wrong: Array<[string, Record<string, string>]> = [
      ['no header', {}],
      ['a basic header', { authorization: `Basic ${Buffer.from('admin:x').toString('base64')}` }],
      ['a wrong bootstrap token', bearer(`${test.config.secrets.adminToken}x`)],
      ['a token-shaped forgery', bearer(`pk_admin_${'A'.repeat(43)}`)],
      ['a malformed stored token', bearer(`${token}x`)],
      ['the token without its prefix', bearer(token.slice('pk_admin_'.length))],
      ['an app API key', bearer(app.apiKey)],
    ];
    for (const [label, headers] of wrong) {
      const response = await call('POST', '/admin/tokens', headers, { invalid: 'body' });
      expect(response.statusCode, label).toBe(401);
      expect(response.json().code, label).toBe('ADMIN_UNAUTHORIZED');
    }
  });
});

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let test: TestApp;
beforeAll(async () => {
  test = await startTestApp();
});
afterAll(() => test.close());

const create = (payload: Record<string, unknown>, headers = test.adminHeaders) =>
  test.app.inject({ method: 'POST', url: '/admin/territories', headers, payload });

describe('territories', () => {
  it('starts with the default territory on the service\'s own host', async () => {
    const response = await test.app.inject({ method: 'GET', url: '/territories' });
    expect(response.statusCode).toBe(200);
    expect(response.json().territories).toEqual([
      { code: 'main', name: 'Main', federationDomain: 'localhost', matrixDomain: 'localhost', inviteOnly: false, isDefault: true },
    ]);
  });

  it('creates a territory with its own schema and migrations, audited', async () => {
    const response = await create({ code: 'dk', name: 'Denmark', federationDomain: 'dk.example.org', matrixDomain: 'matrix.dk.example.org' });
    expect(response.statusCode).toBe(201);
    expect(response.json().territory).toMatchObject({ code: 'dk', schema: 'territory_dk', remote: false, status: 'active', inviteOnly: false });
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'territory_dk' order by table_name
    `.execute(test.database.db);
    expect(tables.rows.map((row) => row.table_name)).toEqual([
      'account_emails', 'account_identifiers', 'appeal_statements', 'invitation_emails', 'key_credentials', 'kysely_migration', 'kysely_migration_lock', 'passkey_credentials',
      'password_credentials', 'persona_wallet_keys', 'recovery_codes', 'residents', 'sealed_identity_links', 'session_labels',
    ]);
    const audit = await test.database.db.selectFrom('audit_log').select(['action', 'target']).where('action', '=', 'territory.create').execute();
    expect(audit).toEqual([{ action: 'territory.create', target: 'dk' }]);
  });

  it('refuses a taken code or domain, bad input, and non-admin tokens', async () => {
    expect((await create({ code: 'dk', name: 'Again' })).json().code).toBe('TERRITORY_EXISTS');
    expect((await create({ code: 'dk2', name: 'Same domain', federationDomain: 'dk.example.org' })).json().code).toBe('TERRITORY_EXISTS');
    for (const payload of [{ code: 'D', name: 'x' }, { code: '1dk', name: 'x' }, { code: 'se', name: '' }, { code: 'se', name: 'x', federationDomain: 'not a domain' }, { code: 'se', name: 'x', extra: 1 }]) {
      const response = await create(payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().code).toBe('VALIDATION_FAILED');
    }
    expect((await create({ code: 'se', name: 'x' }, { authorization: 'Bearer nope' })).statusCode).toBe(401);
  });

  it('changes and closes a territory; a closed one is no longer listed publicly', async () => {
    await create({ code: 'no', name: 'Norway', federationDomain: 'no.example.org' });
    const patched = await test.app.inject({ method: 'PATCH', url: '/admin/territories/no', headers: test.adminHeaders, payload: { inviteOnly: true, status: 'closed' } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().territory).toMatchObject({ inviteOnly: true, status: 'closed' });
    const listed = (await test.app.inject({ method: 'GET', url: '/territories' })).json().territories.map((t: { code: string }) => t.code);
    expect(listed).not.toContain('no');
    const missing = await test.app.inject({ method: 'PATCH', url: '/admin/territories/zz', headers: test.adminHeaders, payload: { name: 'x' } });
    expect(missing.json().code).toBe('TERRITORY_NOT_FOUND');
  });
});

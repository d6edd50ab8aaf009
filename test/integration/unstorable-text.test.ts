import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * U+0000 cannot be stored in PostgreSQL text, nor a lone surrogate half in jsonb: before they were
 * refused at the door, each of these requests reached a query and answered 500 INTERNAL_ERROR.
 */
let test: TestApp;
let cookie: string;
let personaId: string;
beforeAll(async () => {
  test = await startTestApp();
  const guest = await test.app.inject({ method: 'POST', url: '/session' });
  cookie = guest.cookies.map((entry) => `${entry.name}=${entry.value}`).join('; ');
  personaId = guest.json<{ persona: { id: string } }>().persona.id;
});
afterAll(() => test.close());

const NUL = '\u0000';

describe('the NUL character', () => {
  it('is refused in any JSON text with a typed 400, and nothing is written', async () => {
    const admin = test.adminHeaders;
    const cases: Array<[string, string, unknown, Record<string, string>]> = [
      ['POST', '/admin/apps', { name: `app${NUL}` }, admin],
      ['POST', '/admin/tokens', { name: `token${NUL}`, role: 'moderator' }, admin],
      ['POST', '/admin/webhooks', { url: `https://hooks.example.org/${NUL}` }, admin],
      ['POST', `/admin/personas/${personaId}/flags`, { reason: `spam${NUL}` }, admin],
      ['POST', '/admin/appeals', { personaId, statement: `please${NUL}` }, admin],
      ['POST', '/admin/territories', { code: 'nz', name: `New${NUL}Zealand` }, admin],
      ['POST', '/admin/bans', { subject: { personaId }, reason: `abuse${NUL}` }, admin],
      ['POST', '/auth/login', { handle: `someone${NUL}`, password: 'a password long enough' }, {}],
      // Nested, and in a key: identity data is free-form JSON.
      ['POST', '/identity-link', { identityData: { [`name${NUL}`]: ['x', { y: `z${NUL}` }] }, consent: true }, { cookie }],
    ];
    const before = await counts();
    for (const [method, url, payload, headers] of cases) {
      const response = await test.app.inject({ method: method as 'POST', url, payload: payload as object, headers });
      expect({ url, status: response.statusCode, code: response.json().code }).toEqual({ url, status: 400, code: 'VALIDATION_FAILED' });
      expect(response.json().message).toBe('Text must not contain the NUL character (U+0000).');
    }
    expect(await counts()).toEqual(before);
  });

  it('is refused in a path or a query', async () => {
    for (const url of ['/identities/some%00one', '/handles/a%00b', '/.well-known/webfinger?resource=acct:a%00@localhost', `/personas/${personaId}%00/deactivate`]) {
      const response = await test.app.inject({ method: url.includes('deactivate') ? 'POST' : 'GET', url, headers: { cookie } });
      expect({ url, status: response.statusCode, code: response.json().code }).toEqual({ url, status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('is not confused with the text \\u0000 (an escaped backslash)', async () => {
    const response = await test.app.inject({ method: 'POST', url: '/admin/apps', payload: { name: 'back\\u0000slash' }, headers: test.adminHeaders });
    expect(response.statusCode).toBe(201);
  });
});

describe('a lone surrogate half', () => {
  it('is refused with a typed 400, and nothing is written', async () => {
    const before = await counts();
    for (const name of ['a\ud800', '\udc00b', 'x\udbff\udbffy']) {
      const response = await test.app.inject({ method: 'POST', url: '/admin/tokens', payload: { name, role: 'admin' }, headers: test.adminHeaders });
      expect({ status: response.statusCode, code: response.json().code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(response.json().message).toBe('Text must be well-formed Unicode (no lone surrogate halves).');
    }
    expect(await counts()).toEqual(before);
  });

  it('is not confused with a well-formed pair', async () => {
    const response = await test.app.inject({ method: 'POST', url: '/admin/tokens', payload: { name: 'emoji \ud83d\ude00', role: 'moderator' }, headers: test.adminHeaders });
    expect(response.statusCode).toBe(201);
  });
});

async function counts(): Promise<Record<string, number>> {
  const db = test.database.db;
  const count = async (table: 'apps' | 'admin_tokens' | 'webhooks' | 'persona_flags' | 'appeals' | 'territories' | 'identity_links' | 'audit_log') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
  const tables = ['apps', 'admin_tokens', 'webhooks', 'persona_flags', 'appeals', 'territories', 'identity_links', 'audit_log'] as const;
  return Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await count(table)])));
}

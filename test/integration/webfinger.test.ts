import { createServer } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebFinger from 'webfinger.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTerritory, personWithHandle, simulateMove } from '../support/identities.js';

/** A free local port, so PUBLIC_ORIGIN can name the address the app will listen on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let test: TestApp;
let port: number;
let origin: string;
beforeAll(async () => {
  port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  test = await startTestApp({ env: { PUBLIC_ORIGIN: origin } });
  await test.app.listen({ host: '127.0.0.1', port });
  await createTerritory(test, { code: 'dk', name: 'Denmark', federationDomain: 'dk.example.org', matrixDomain: 'matrix.dk.example.org' });
});
afterAll(() => test.close());

const finger = (query: string) => test.app.inject({ method: 'GET', url: `/.well-known/webfinger${query}` });
const acct = (resource: string) => finger(`?resource=${encodeURIComponent(resource)}`);

function expectError(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.json()).toEqual({ code, message: expect.any(String), correlationId: expect.any(String) });
  expect(response.headers['access-control-allow-origin']).toBe('*');
}

describe('GET /.well-known/webfinger', () => {
  it('answers a JRD for acct:handle@domain, any case, with CORS for everyone and no cookie', async () => {
    await personWithHandle(test, 'wendy');
    const response = await acct('acct:Wendy@127.0.0.1');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/jrd\+json/);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['set-cookie']).toBeUndefined();
    const profile = `${origin}/identities/wendy`;
    expect(response.json()).toEqual({
      subject: 'acct:wendy@127.0.0.1',
      aliases: [profile, 'matrix:u/wendy:127.0.0.1'],
      properties: { 'http://packetizer.com/ns/name': expect.any(String) },
      links: [
        { rel: 'self', type: 'application/json', href: profile },
        { rel: 'http://webfinger.net/rel/profile-page', href: profile },
      ],
    });
    // The self link resolves to the public identity.
    const self = await test.app.inject({ method: 'GET', url: '/identities/wendy' });
    expect(self.json().identity.address).toBe('wendy@main');
    // PUBLIC_ORIGIN's host with its port is our own host too (development servers).
    expect((await acct(`acct:wendy@127.0.0.1:${port}`)).json().subject).toBe('acct:wendy@127.0.0.1');
  });

  it('keeps only the links of the rel parameters asked (RFC 7033 §4.3)', async () => {
    const rels = async (query: string) => (await finger(`?resource=acct:wendy@127.0.0.1${query}`)).json().links.map((link: { rel: string }) => link.rel);
    expect(await rels('&rel=self')).toEqual(['self']);
    expect(await rels(`&rel=self&rel=${encodeURIComponent('http://webfinger.net/rel/profile-page')}`)).toEqual(['self', 'http://webfinger.net/rel/profile-page']);
    expect(await rels('&rel=http%3A%2F%2Fexample.org%2Funknown')).toEqual([]);
    // The filter touches links only (§4.3): subject and aliases stay.
    const filtered = (await finger('?resource=acct:wendy@127.0.0.1&rel=self')).json();
    expect(filtered.subject).toBe('acct:wendy@127.0.0.1');
    expect(filtered.aliases).toHaveLength(2);
  });

  it('answers the old address of a person who moved with the new one as subject (RFC 7033 §4.4.1)', async () => {
    const { personaId } = await personWithHandle(test, 'moritz');
    await simulateMove(test, personaId, 'moritz', 'main', 'dk');
    for (const resource of ['acct:moritz@127.0.0.1', 'acct:moritz@dk.example.org', 'acct:moritz@dk']) {
      const response = await acct(resource);
      expect(response.statusCode, resource).toBe(200);
      expect(response.json().subject, resource).toBe('acct:moritz@dk.example.org');
      expect(response.json().aliases).toEqual([`${origin}/identities/moritz`, 'matrix:u/moritz:matrix.dk.example.org', 'acct:moritz@127.0.0.1']);
    }
  });

  it('is 404 for an unknown handle, a domain we do not serve, and a deactivated persona on the next request', async () => {
    expectError(await acct('acct:nobody_at_all@127.0.0.1'), 404, 'IDENTITY_NOT_FOUND');
    expectError(await acct('acct:wendy@elsewhere.example'), 404, 'IDENTITY_NOT_FOUND');
    // wendy never lived in dk: its domain does not answer for her.
    expectError(await acct('acct:wendy@dk.example.org'), 404, 'IDENTITY_NOT_FOUND');
    const { visitor, personaId } = await personWithHandle(test, 'dagny');
    expect((await acct('acct:dagny@127.0.0.1')).statusCode).toBe(200);
    expect((await visitor.request('POST', `/personas/${personaId}/deactivate`)).statusCode).toBeLessThan(300);
    expectError(await acct('acct:dagny@127.0.0.1'), 404, 'IDENTITY_NOT_FOUND');
  });

  it('is 400 for a missing or malformed resource, with a typed JSON body', async () => {
    expectError(await finger(''), 400, 'VALIDATION_FAILED');
    expectError(await acct('acct:nobody'), 400, 'VALIDATION_FAILED');
    expectError(await acct('https://x'), 400, 'VALIDATION_FAILED');
    expectError(await acct('acct:@127.0.0.1'), 400, 'VALIDATION_FAILED');
  });

  it('resolves an address with a real WebFinger client (webfinger.js) over HTTP', async () => {
    // Plain http on a private address: both are refused by default, as they should be on the internet.
    const client = new WebFinger({ tls_only: false, allow_private_addresses: true, uri_fallback: false, request_timeout: 5000 });
    const result = await client.lookup(`wendy@127.0.0.1:${port}`);
    expect(result.object.subject).toBe('acct:wendy@127.0.0.1');
    expect(result.idx.links.profile?.[0]?.href).toBe(`${origin}/identities/wendy`);
    expect(result.idx.properties.name).toEqual(expect.any(String));
    await expect(client.lookup(`nobody_at_all@127.0.0.1:${port}`)).rejects.toThrow(/not found/);
  });
});

describe('lookup limit', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await startTestApp({ env: { LOOKUPS_PER_CLIENT: '3', LOOKUP_WINDOW_SECONDS: '60' } });
  });
  afterAll(() => limited.close());

  it('refuses a client beyond LOOKUPS_PER_CLIENT with 429 and Retry-After, WebFinger and identities alike', async () => {
    const get = (url: string) => limited.app.inject({ method: 'GET', url });
    expect((await get('/.well-known/webfinger?resource=acct:someone@localhost')).statusCode).toBe(404);
    expect((await get('/identities/someone')).statusCode).toBe(404);
    expect((await get('/.well-known/webfinger?resource=acct:someone@localhost')).statusCode).toBe(404);
    for (const url of ['/.well-known/webfinger?resource=acct:someone@localhost', '/identities/someone']) {
      const refused = await get(url);
      expect(refused.statusCode, url).toBe(429);
      expect(refused.json().code).toBe('TOO_MANY_ATTEMPTS');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect((await get('/.well-known/webfinger?resource=acct:someone@localhost')).headers['access-control-allow-origin']).toBe('*');
    // Another client has its own budget; of parallel lookups beyond it, exactly the budget passes.
    const burst = await Promise.all(
      Array.from({ length: 12 }, () => limited.app.inject({ method: 'GET', url: '/identities/someone', remoteAddress: '192.0.2.9' })),
    );
    expect(burst.filter((response) => response.statusCode === 404)).toHaveLength(3);
    expect(burst.filter((response) => response.statusCode === 429)).toHaveLength(9);
    const other = await limited.app.inject({ method: 'GET', url: '/identities/someone', remoteAddress: '192.0.2.7' });
    expect(other.statusCode).toBe(404);
  });
});

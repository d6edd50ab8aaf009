import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';

/** A clock the test moves forward. */
class TestClock implements Clock {
  offsetMs = 0;
  now() {
    return new Date(Date.now() + this.offsetMs);
  }
}

interface Pair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: string;
}

describe('API clients: access tokens, refresh tokens, JWKS', () => {
  let test: TestApp;
  const clock = new TestClock();

  beforeAll(async () => {
    test = await startTestApp({ clock, env: { PUBLIC_ORIGIN: 'https://id.example.test', ACCESS_TOKEN_TTL_SECONDS: '60' } });
  }, 60_000);
  afterAll(() => test?.close());

  const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
    test.app.inject({ method: 'POST', url, payload, headers });
  const get = (url: string, token: string) => test.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

  async function apiGuest(): Promise<Pair & { isNewUser: boolean; profiles: Array<{ id: string; isActive: boolean }> }> {
    const response = await post('/api/v2/auth/authenticate', { strategy: 'guest', client: 'api' });
    expect(response.statusCode).toBe(200);
    return response.json();
  }

  it('gives an API guest a token pair and a default profile, and sets no session cookie', async () => {
    const response = await post('/api/v2/auth/authenticate', { strategy: 'guest', client: 'api' });
    const body = response.json();
    expect(body).toMatchObject({ isNewUser: true, tokenType: 'Bearer', expiresIn: 60 });
    expect(body.profiles).toHaveLength(1);
    expect(body.profiles[0]).toMatchObject({ isActive: true, trustLevel: 'NEW', sessionWalletAddress: null });
    expect(response.cookies.map((cookie) => cookie.name)).not.toContain('__Host-session');
    const session = (await get('/session', body.accessToken)).json();
    expect(session).toMatchObject({ started: true, anonymous: true, persona: { id: body.profiles[0].id } });
  });

  it('signs access tokens that verify against the published JWKS, carrying only the session id', async () => {
    const { accessToken } = await apiGuest();
    const jwks = await test.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(jwks.headers['cache-control']).toContain('public');
    const keySet = createLocalJWKSet(jwks.json());
    const { payload, protectedHeader } = await jwtVerify(accessToken, keySet, {
      issuer: 'https://id.example.test',
      audience: 'https://id.example.test',
      currentDate: clock.now(),
    });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sid']);
    for (const key of jwks.json().keys) expect(key).not.toHaveProperty('d');
  });

  it('refuses tampered, foreign and expired access tokens with TOKEN_INVALID, without falling back to a guest', async () => {
    const { accessToken } = await apiGuest();
    const [header, payload, signature] = accessToken.split('.') as [string, string, string];
    const claims = decodeJwt(accessToken);
    const forged = Buffer.from(JSON.stringify({ ...claims, sid: '00000000-0000-4000-8000-000000000000' })).toString('base64url');
    for (const token of [`${header}.${forged}.${signature}`, `${header}.${payload}.${signature.slice(0, -4)}AAAA`]) {
      const response = await get('/personas', token);
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('TOKEN_INVALID');
      expect(response.cookies.map((cookie) => cookie.name)).not.toContain('__Host-session');
    }
    clock.offsetMs = 61_000 + 5_000;
    try {
      expect((await get('/personas', accessToken)).json().code).toBe('TOKEN_INVALID');
    } finally {
      clock.offsetMs = 0;
    }
    expect((await get('/personas', accessToken)).statusCode).toBe(200);
  });

  it('rotates refresh tokens, and a reused one ends the session for everyone holding it', async () => {
    const first = await apiGuest();
    const refreshed = await post('/api/v2/auth/refresh', { refreshToken: first.refreshToken });
    expect(refreshed.statusCode).toBe(200);
    const second: Pair = refreshed.json();
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await get('/personas', second.accessToken)).statusCode).toBe(200);

    const replay = await post('/api/v2/auth/refresh', { refreshToken: first.refreshToken });
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('REFRESH_TOKEN_REUSED');
    // The thief's replay ended the family: the legitimate client's tokens are dead too.
    expect((await post('/api/v2/auth/refresh', { refreshToken: second.refreshToken })).json().code).toBe('TOKEN_INVALID');
    expect((await get('/personas', second.accessToken)).json().code).toBe('TOKEN_INVALID');
    const revoked = await test.database.db.selectFrom('outbox').select('payload').where('type', '=', 'SessionRevoked').execute();
    expect(revoked.some((row) => row.payload.reason === 'refresh-token-reuse')).toBe(true);
  });

  it('answers TOKEN_INVALID for an unknown refresh token and stores refresh tokens only hashed', async () => {
    const response = await post('/api/v2/auth/refresh', { refreshToken: 'x'.repeat(43) });
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('TOKEN_INVALID');
    const { refreshToken } = await apiGuest();
    const rows = await test.database.db.selectFrom('refresh_tokens').select('token_hash').execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.token_hash.toString('base64url')).not.toBe(refreshToken);
  });

  it('seals the signing keys: the private half is not in the clear', async () => {
    const rows = await test.database.db.selectFrom('signing_keys').select(['private_sealed', 'public_jwk']).execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.private_sealed.toString('utf8')).not.toContain('"d"');
      expect(row.public_jwk).not.toHaveProperty('d');
    }
  });

  it('lets a browser start as a guest through the unified route, with its anon_id cookie', async () => {
    const browser = new Browser(test.app);
    const first = await browser.request('POST', '/api/v2/auth/authenticate', { strategy: 'guest' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ isNewUser: true });
    expect(first.json()).not.toHaveProperty('accessToken');
    const again = await browser.request('POST', '/api/v2/auth/authenticate', { strategy: 'guest' });
    expect(again.json()).toMatchObject({ isNewUser: false, profiles: first.json().profiles });
  });

  it('lists the strategies on offer and refuses one that is not configured', async () => {
    const list = (await test.app.inject({ method: 'GET', url: '/api/v2/auth/strategies' })).json();
    expect(list.strategies).toContain('guest');
    const response = await post('/api/v2/auth/authenticate', { strategy: 'carrier-pigeon' });
    expect(response.statusCode).toBe(400);
  });
});

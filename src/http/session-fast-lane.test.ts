import type { AddressInfo } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import type { SessionService } from '../modules/sessions/session-service.js';
import { RequestLogging } from './request-logging.js';
import { installSessionFastLane } from './session-fast-lane.js';

// The lane over a real socket is covered by test/integration/session-fast-lane.test.ts; this covers
// what only a fault shows: a throw inside the lane must leave the request to Fastify, not crash.

const SECRET = 'a-cookie-secret-of-enough-length-for-the-test';
const TOKEN = 'A'.repeat(43);
const apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

const laneDeps = () => ({
  clock: systemClock,
  logging: new RequestLogging({ mode: 'off', slowMs: 1000 }),
  registry: new Registry(),
  corsEnabled: false,
});

async function appWithLane(cachedGuest: SessionService['cachedGuest']) {
  const app = Fastify({ logger: { level: 'fatal' } }); // the fault's error line would only clutter the output
  apps.push(app);
  await app.register(fastifyCookie, { secret: [SECRET] });
  app.get('/session', async () => ({ from: 'fastify' }));
  const sessions = { cachedGuest } as SessionService; // the lane reads nothing else of the service
  installSessionFastLane(app, { sessions, ...laneDeps() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const cookie = `anon_id=${encodeURIComponent(app.signCookie(`${TOKEN}.${Math.floor(Date.now() / 1000).toString(36)}`))}`;
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/session`, cookie };
}

describe('installSessionFastLane', () => {
  it('answers a cached guest itself', async () => {
    const persona = { id: 'p', displayName: 'Quiet Otter 1', trustLevel: 'NEW' as const, authorId: 'k1.x', verified: false };
    const context = {
      sessionId: 's', sessionPublicId: 'sp', accountId: 'a', accountType: 'guest' as const, accountabilityProfileId: 'ap', banned: false, persona,
    };
    const seen: string[] = [];
    const { url, cookie } = await appWithLane((token) => (seen.push(token), context as never));
    const response = await fetch(url, { headers: { cookie } });
    expect(await response.json()).toMatchObject({ started: true, persona });
    expect(seen).toEqual([TOKEN]);
  });

  it('leaves the request to Fastify when the lane throws, instead of crashing the process', async () => {
    const { url, cookie } = await appWithLane(() => {
      throw new Error('cache broke');
    });
    const response = await fetch(url, { headers: { cookie } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ from: 'fastify' });
  });

  it('refuses to install where Fastify is not the one request listener', async () => {
    const app = Fastify();
    apps.push(app);
    app.server.on('request', () => {});
    const install = () => installSessionFastLane(app, { sessions: {} as SessionService, ...laneDeps() });
    expect(install).toThrow(/one request listener/);
  });
});

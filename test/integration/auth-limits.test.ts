import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl, startTestApp, type TestApp } from '../support/app.js';
import { Browser, newPerson, passwordHashings } from '../support/browser.js';

type Response = Awaited<ReturnType<Browser['request']>>;

async function registerWith(test: TestApp, headers: Record<string, string> = {}) {
  const person = newPerson('limit');
  const response = await new Browser(test.app, headers).register(person);
  expect(response.statusCode, response.body).toBe(201);
  return person;
}

function expectThrottled(response: Response, windowSeconds: number) {
  expect(response.statusCode).toBe(429);
  expect(response.json()).toEqual({ code: 'TOO_MANY_ATTEMPTS', message: expect.any(String), correlationId: expect.any(String) });
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
}

/** The suite for one attempt store: the in-process default, or Redis shared by every node. */
function limitSuite(store: 'memory' | 'redis') {
  let test: TestApp;
  beforeAll(async () => {
    test = await startTestApp({
      env: {
        LOGIN_ATTEMPTS_PER_ACCOUNT: '5',
        LOGIN_ATTEMPTS_PER_CLIENT: '10000',
        LOGIN_ATTEMPT_WINDOW_SECONDS: '900',
        ...(store === 'redis' && redisUrl ? { REDIS_URL: redisUrl } : {}),
      },
    });
  });
  afterAll(() => test.close());

  it('lets exactly 5 of 50 parallel wrong guesses reach argon2; the rest get 429 with Retry-After', async () => {
    const person = await registerWith(test);
    const before = await passwordHashings(test.app);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => new Browser(test.app).login({ email: person.email, password: `wrong guess number ${i}` })),
    );
    const verifications = (await passwordHashings(test.app)) - before;
    expect(verifications).toBe(5);
    expect(responses.filter((r) => r.statusCode === 401)).toHaveLength(verifications);
    const throttled = responses.filter((r) => r.statusCode === 429);
    expect(throttled).toHaveLength(50 - verifications);
    for (const response of throttled) expectThrottled(response, 900);
    // The right password is refused too while the limit holds (an attacker learns nothing from it).
    expectThrottled(await new Browser(test.app).login(person), 900);
  });

  it('counts unknown addresses the same way, so the limit says nothing about which addresses have accounts', async () => {
    const email = `nobody-${Date.now()}-${store}@example.org`;
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await new Browser(test.app).login({ email, password: 'whatever it may be' })).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('forgets an account\'s failures after a successful login', async () => {
    const person = await registerWith(test);
    const wrong = () => new Browser(test.app).login({ email: person.email, password: 'not the password at all' });
    for (let i = 0; i < 4; i++) expect((await wrong()).statusCode).toBe(401);
    expect((await new Browser(test.app).login(person)).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await wrong()).statusCode).toBe(401);
    expect((await wrong()).statusCode).toBe(429);
  });

  if (store === 'redis') {
    it('keeps counters in Redis under hashed keys only: no address or email in the clear', async () => {
      const person = await registerWith(test);
      await new Browser(test.app).login({ email: person.email, password: 'a wrong one again' });
      const redis = new Redis(redisUrl as string);
      try {
        const keys = await redis.keys('personae:attempts:*');
        expect(keys.length).toBeGreaterThan(0);
        const local = person.email.split('@')[0] as string;
        for (const key of keys) {
          expect(key).toMatch(/^personae:attempts:[a-z-]+:[A-Za-z0-9_-]{43}$/);
          for (const needle of ['127.0.0.1', local, 'example.org']) expect(key).not.toContain(needle);
        }
      } finally {
        redis.disconnect();
      }
    });
  }
}

describe('login limits, in-process store', () => limitSuite('memory'));
describe.runIf(redisUrl)('login limits, Redis store', () => limitSuite('redis'));

describe('per-client limits and the client address', () => {
  /** Three wrong logins on three different addresses, then a fourth: per client, not per account. */
  async function fourthAttempt(test: TestApp, headersFor: (i: number) => Record<string, string>) {
    for (let i = 0; i < 3; i++) {
      const response = await new Browser(test.app, headersFor(i)).login({ email: `c${i}-${Date.now()}@example.org`, password: 'wrong but long enough' });
      expect(response.statusCode).toBe(401);
    }
    return new Browser(test.app, headersFor(3)).login({ email: `c3-${Date.now()}@example.org`, password: 'wrong but long enough' });
  }

  describe('without TRUST_PROXY', () => {
    let test: TestApp;
    beforeAll(async () => {
      test = await startTestApp({ env: { LOGIN_ATTEMPTS_PER_CLIENT: '3', LOGIN_ATTEMPTS_PER_ACCOUNT: '1000' } });
    });
    afterAll(() => test.close());

    it('ignores X-Forwarded-For: a spoofed header does not buy new attempts', async () => {
      expectThrottled(await fourthAttempt(test, (i) => ({ 'x-forwarded-for': `203.0.113.${i + 1}` })), 900);
    });

    it('limits registrations per client too (each one tells whether an address is taken)', async () => {
      for (let i = 0; i < 3; i++) await registerWith(test, { 'x-forwarded-for': `203.0.113.${i + 1}` });
      const before = await test.database.db.selectFrom('accounts').select('id').execute();
      expectThrottled(await new Browser(test.app, { 'x-forwarded-for': '203.0.113.99' }).register(newPerson()), 900);
      expect(await test.database.db.selectFrom('accounts').select('id').execute()).toHaveLength(before.length);
    });
  });

  describe('behind a trusted proxy', () => {
    let test: TestApp;
    beforeAll(async () => {
      test = await startTestApp({ env: { LOGIN_ATTEMPTS_PER_CLIENT: '3', LOGIN_ATTEMPTS_PER_ACCOUNT: '1000', TRUST_PROXY: '127.0.0.1' } });
    });
    afterAll(() => test.close());

    it('believes X-Forwarded-For from the proxy: each client has its own counter, and each is limited', async () => {
      expect((await fourthAttempt(test, (i) => ({ 'x-forwarded-for': `203.0.113.${i + 1}` }))).statusCode).toBe(401);
      expectThrottled(await fourthAttempt(test, () => ({ 'x-forwarded-for': '198.51.100.7' })), 900);
    });

    it('does not count successful logins against a shared address', async () => {
      const client = { 'x-forwarded-for': '192.0.2.50' };
      const person = await registerWith(test, client); // registrations have their own counter
      for (let i = 0; i < 8; i++) expect((await new Browser(test.app, client).login(person)).statusCode).toBe(200);
    });
  });
});

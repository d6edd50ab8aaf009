import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnvironment } from '../../../test/support/app.js';
import { openTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { IdpBrowser, startTestIdp, type TestIdp } from '../../../test/support/oidc-idp.js';
import { systemClock, type Clock } from '../../clock.js';
import { ConfigError, loadConfig } from '../../config.js';
import { TokenHasher } from '../../crypto/tokens.js';
import type { CeremonyContext, SignInStrategy } from '../strategy.js';
import { createVerificationRepository } from '../verification-repository.js';
import { createSocialStrategy } from './social-strategy.js';

const ORIGIN = 'https://id.example';
const REDIRECT_URI = `${ORIGIN}/api/v2/auth/social/callback`;
const CLIENT = { clientId: 'personae', clientSecret: 'a-client-secret-of-the-test-idp', redirectUris: [REDIRECT_URI] };

let database: TestDatabase;
let idp: TestIdp;
beforeAll(async () => {
  database = await openTestDatabase();
  idp = await startTestIdp({
    clients: [CLIENT],
    accounts: [
      { id: 'alice', password: 'alice-password', email: 'alice@example.org' },
      { id: 'bob', password: 'bob-password' },
    ],
  });
}, 60_000);
afterAll(async () => {
  await idp?.close();
  await database?.drop();
}, 60_000);

const signIn: CeremonyContext = { client: '192.0.2.1', purpose: 'sign-in', accountId: null };

function setup(providers: Array<{ name: string; issuer: string }>, clock: Clock = systemClock) {
  const config = loadConfig(
    testEnvironment({
      PUBLIC_ORIGIN: ORIGIN,
      OIDC_PROVIDERS: JSON.stringify(providers.map((provider) => ({ ...provider, clientId: CLIENT.clientId, clientSecret: CLIENT.clientSecret }))),
    }),
  );
  const hasher = new TokenHasher(config.secrets.tokenHashKey);
  const deps = { config, verifications: createVerificationRepository(database.db), hasher, clock };
  return { strategy: createSocialStrategy(deps), hasher };
}

function strategyOf(value: SignInStrategy | null): SignInStrategy {
  if (!value) throw new Error('social strategy not configured');
  return value;
}

/** A port nothing listens on (taken, then given back). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('createSocialStrategy', () => {
  it('is left out when no provider is configured', () => {
    expect(setup([]).strategy).toBeNull();
  });

  it('refuses at start-up a plain-http issuer off this machine (openid-client would refuse every request)', () => {
    expect(() => setup([{ name: 'idp', issuer: 'http://idp.example' }])).toThrow(ConfigError);
    expect(setup([{ name: 'idp', issuer: 'https://idp.example' }]).strategy).not.toBeNull();
    expect(setup([{ name: 'idp', issuer: 'http://localhost:1' }]).strategy).not.toBeNull();
  });
});

describe('social challenge', () => {
  it('builds an authorization code request with PKCE S256, state and nonce, and stores none of its secrets', async () => {
    const { strategy, hasher } = setup([{ name: 'idp', issuer: idp.issuer }]);
    const answer = await strategyOf(strategy).challenge({ provider: 'idp', returnTo: '/board?tab=new' }, signIn);
    expect(Object.keys(answer).sort()).toEqual(['authorizationUrl', 'returnTo', 'verificationId']);
    expect(answer.returnTo).toBe('/board?tab=new');
    const url = new URL(String(answer.authorizationUrl));
    expect(`${url.origin}${url.pathname}`).toBe(`${idp.issuer}/auth`);
    const parameters = Object.fromEntries(url.searchParams);
    expect(parameters).toMatchObject({
      client_id: 'personae',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: REDIRECT_URI,
      code_challenge_method: 'S256',
    });
    for (const name of ['state', 'nonce', 'code_challenge']) expect(parameters[name]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(parameters.prompt).toBeUndefined();

    const row = await database.db
      .selectFrom('verifications')
      .selectAll()
      .where('strategy', '=', 'social')
      .where('challenge_hash', '=', hasher.hash('challenge', `social:${parameters.state}`))
      .executeTakeFirstOrThrow();
    // Nothing of the person: the returnTo path went back to the client and is not kept.
    expect(Object.keys(row.state as object).sort()).toEqual(['binding', 'provider']);
    const stored = JSON.stringify(row);
    for (const secret of [parameters.state, parameters.nonce, parameters.code_challenge, String(answer.verificationId), '/board?tab=new']) {
      expect(stored).not.toContain(secret);
    }
  });

  it('answers STRATEGY_UNAVAILABLE for a provider name it does not know', async () => {
    const { strategy } = setup([{ name: 'idp', issuer: idp.issuer }]);
    await expect(strategyOf(strategy).challenge({ provider: 'other' }, signIn)).rejects.toMatchObject({ code: 'STRATEGY_UNAVAILABLE' });
  });

  it('refuses a returnTo that would leave this site', async () => {
    const { strategy } = setup([{ name: 'idp', issuer: idp.issuer }]);
    for (const returnTo of ['//evil.example/', '/\\evil.example', 'https://evil.example/']) {
      await expect(strategyOf(strategy).challenge({ provider: 'idp', returnTo }, signIn)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });
});

describe('social verify', () => {
  it('answers the identity keyed by issuer and subject', async () => {
    const { strategy } = setup([{ name: 'idp', issuer: idp.issuer }]);
    const social = strategyOf(strategy);
    const { authorizationUrl, verificationId } = await social.challenge({ provider: 'idp' }, signIn);
    const callbackUrl = await new IdpBrowser({ login: 'bob', password: 'bob-password' }).authorize(String(authorizationUrl));
    expect(callbackUrl.startsWith(`${REDIRECT_URI}?`)).toBe(true);
    const identity = await social.verify({ callbackUrl, verificationId }, signIn);
    expect(identity).toEqual({ type: 'social', identifier: `${idp.issuer} bob`, provider: 'idp', verified: true });
  });

  it('step-up makes the provider authenticate the person again, even with its session still open', async () => {
    const { strategy } = setup([{ name: 'idp', issuer: idp.issuer }]);
    const social = strategyOf(strategy);
    const browser = new IdpBrowser({ login: 'alice', password: 'alice-password' });
    const first = await social.challenge({ provider: 'idp' }, signIn);
    await social.verify({ callbackUrl: await browser.authorize(String(first.authorizationUrl)), verificationId: first.verificationId }, signIn);
    expect(browser.prompts).toEqual(['login', 'consent']);

    // A plain sign-in rides on the provider's open session: no prompt at all.
    const again = await social.challenge({ provider: 'idp' }, signIn);
    await social.verify({ callbackUrl: await browser.authorize(String(again.authorizationUrl)), verificationId: again.verificationId }, signIn);
    expect(browser.prompts).toEqual(['login', 'consent']);

    const stepUp: CeremonyContext = { ...signIn, purpose: 'step-up' };
    const fresh = await social.challenge({ provider: 'idp' }, stepUp);
    const parameters = new URL(String(fresh.authorizationUrl)).searchParams;
    expect(parameters.get('prompt')).toBe('login');
    expect(parameters.get('max_age')).toMatch(/^\d+$/);
    const identity = await social.verify({ callbackUrl: await browser.authorize(String(fresh.authorizationUrl)), verificationId: fresh.verificationId }, stepUp);
    expect(browser.prompts).toEqual(['login', 'consent', 'login']);
    expect(identity.identifier).toBe(`${idp.issuer} alice`);
  });

  it('answers STRATEGY_UNAVAILABLE when the provider is gone by the time the code is redeemed', async () => {
    const port = await freePort();
    const flaky = await startTestIdp({ clients: [CLIENT], accounts: [{ id: 'carol', password: 'carol-password' }], port });
    const { strategy } = setup([{ name: 'flaky', issuer: flaky.issuer }]);
    const social = strategyOf(strategy);
    const { authorizationUrl, verificationId } = await social.challenge({ provider: 'flaky' }, signIn);
    const callbackUrl = await new IdpBrowser({ login: 'carol', password: 'carol-password' }).authorize(String(authorizationUrl));
    await flaky.close();
    await expect(social.verify({ callbackUrl, verificationId }, signIn)).rejects.toMatchObject({ code: 'STRATEGY_UNAVAILABLE' });
  });
});

describe('a provider down at start-up', () => {
  it('does not stop the strategy: challenges answer STRATEGY_UNAVAILABLE until discovery is retried and succeeds', async () => {
    let now = Date.now();
    const clock: Clock = { now: () => new Date(now) };
    const port = await freePort();
    const { strategy } = setup([{ name: 'late', issuer: `http://127.0.0.1:${port}` }], clock);
    const social = strategyOf(strategy);
    await expect(social.challenge({ provider: 'late' }, signIn)).rejects.toMatchObject({ code: 'STRATEGY_UNAVAILABLE' });

    const late = await startTestIdp({ clients: [CLIENT], accounts: [{ id: 'dave', password: 'dave-password' }], port });
    try {
      // Retries are spaced out: right after a failure the provider is not asked again.
      await expect(social.challenge({ provider: 'late' }, signIn)).rejects.toMatchObject({ code: 'STRATEGY_UNAVAILABLE' });
      now += 10_000;
      const { authorizationUrl, verificationId } = await social.challenge({ provider: 'late' }, signIn);
      const callbackUrl = await new IdpBrowser({ login: 'dave', password: 'dave-password' }).authorize(String(authorizationUrl));
      expect((await social.verify({ callbackUrl, verificationId }, signIn)).identifier).toBe(`${late.issuer} dave`);
    } finally {
      await late.close();
    }
  });
});

import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GOOD_PASSWORD } from '../support/browser.js';
import { newKeyPair, signKeyChallenge } from '../support/key-signer.js';
import { IdpBrowser, type TestIdp } from '../support/oidc-idp.js';
import type { SmtpSink } from '../support/smtp-sink.js';
import { newWallet } from '../support/wallet-signer.js';
import {
  axeViolations, BROWSER_TEST_TIMEOUT_MS, chromiumAvailable, closeAll, eventually, expectAccessible,
  launchChromium, openPage, PHONE, screenshot, startWebServerWithMailAndIdp, unique, type WebPage,
  type WebServer,
} from '../support/web-e2e.js';

/**
 * The web app's sign-up and sign-in screens in Chromium, every method: one service (with a real SMTP
 * server and a real OpenID Connect provider beside it) and one browser for the whole file.
 */

let server: WebServer;
let browser: Browser;
let idp: TestIdp;
let sink: SmtpSink;
const PERSON = { id: 'grace', password: 'grace-at-the-idp' };

beforeAll(async () => {
  [{ server, idp, sink }, browser] = await Promise.all([startWebServerWithMailAndIdp(PERSON), launchChromium()]);
});

afterAll(() => closeAll({ browser, server, idp, sink }));

vi.setConfig({ testTimeout: BROWSER_TEST_TIMEOUT_MS });


/** What a page must never hold: a token in script-readable storage or a cookie script can read. */
async function expectNoTokensInBrowserStorage({ page, context }: WebPage) {
  expect(await page.evaluate('document.cookie')).toBe('');
  expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
  const cookies = await context.cookies();
  expect(cookies.map((cookie) => cookie.name).sort()).toEqual(expect.arrayContaining(['anon_id']));
  for (const cookie of cookies) expect(cookie.httpOnly, cookie.name).toBe(true);
}


describe.skipIf(!chromiumAvailable)('web app: serving', () => {
  it('serves the app at / with a strict CSP, hashed assets cached for good, and the API untouched', async () => {
    const page = await fetch(`${server.origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script at all
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${server.origin}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    // The API's own routes and its JSON 404 are as before.
    const api = await fetch(`${server.origin}/personas`);
    expect(api.headers.get('content-type')).toContain('application/json');
    const missing = await fetch(`${server.origin}/no-such-page`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('NOT_FOUND');
  });
});

describe.skipIf(!chromiumAvailable)('web app: first load', () => {
  it('loads at most 150 KB of gzipped JavaScript before the first screen, and becomes interactive', async () => {
    const web = await openPage(browser, server);
    const scripts: string[] = [];
    web.page.on('request', (request) => {
      if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname);
    });
    await web.page.goto('/');
    await web.page.getByTestId('guest-persona').waitFor();
    // Time to interactive, as a person sees it: navigation start to the first screen with its data
    // (the guest persona) drawn and its buttons live.
    const interactiveMs = Number(await web.page.evaluate('performance.now()'));
    let gzipped = 0;
    for (const path of scripts) gzipped += gzipSync(Buffer.from(await (await fetch(`${server.origin}${path}`)).arrayBuffer())).length;
    console.info(`web first load: ${scripts.length} script(s), ${(gzipped / 1024).toFixed(1)} KB gzip; interactive after ${interactiveMs.toFixed(0)} ms`);
    expect(scripts.length).toBeGreaterThan(0);
    expect(gzipped).toBeLessThanOrEqual(150 * 1024); // the goal of issue 13
    // A loose bound for a loaded 2-core CI machine: it catches a hang or a render loop, not a regression of 100 ms.
    expect(interactiveMs).toBeLessThan(10_000);
    await web.context.close();
  });
});

describe.skipIf(!chromiumAvailable)('web app: welcome and accounts', () => {
  it('welcomes a first visitor as a guest who already has a persona, in light and dark', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      const web = await openPage(browser, server, { colorScheme });
      await web.page.goto('/');
      const card = web.page.getByTestId('guest-persona');
      await eventually(() => card.isVisible()).toBe(true);
      const name = await card.locator('.persona-name').textContent();
      expect(name?.trim().length).toBeGreaterThan(0);
      await expectAccessible(web.page);
      await expectNoTokensInBrowserStorage(web);
      await screenshot(web.page, `welcome-${colorScheme}`);
      expect(web.problems).toEqual([]);
      await web.context.close();
    }
  });

  it('fits a phone: no sideways scrolling on the welcome and sign-up screens', async () => {
    const web = await openPage(browser, server, PHONE);
    for (const path of ['/', '/sign-up']) {
      await web.page.goto(path);
      await web.page.getByRole('heading', { level: 1 }).waitFor();
      expect(await web.page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    }
    await screenshot(web.page, 'sign-up-phone');
    await web.context.close();
  });

  it('signs up with email and password, signs out, and signs in again', async () => {
    const web = await openPage(browser, server);
    const { page } = web;
    const email = `${unique('ada')}@example.org`;
    const displayName = unique('Ada ');
    await page.goto('/sign-up');
    await expectAccessible(page);
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Display name').fill(displayName);
    await screenshot(page, 'sign-up');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Welcome aboard' }).waitFor();
    await page.getByRole('link', { name: 'Continue' }).click();
    await eventually(() => page.getByTestId('active-persona').textContent()).toContain(displayName);
    await expectNoTokensInBrowserStorage(web);
    expect((await web.context.cookies()).some((cookie) => cookie.name === '__Host-session')).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'home');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByTestId('guest-persona').waitFor();
    expect((await web.context.cookies()).some((cookie) => cookie.name === '__Host-session')).toBe(false);

    await page.getByRole('navigation').getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Email or handle').fill(email);
    await page.getByLabel('Password', { exact: true }).fill('not the password at all, really');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await eventually(() => page.getByRole('alert').textContent()).toMatch(/\S/);
    expect(await page.getByRole('alert').locator('code').first().textContent()).toBe('INVALID_CREDENTIALS');
    await expectAccessible(page);
    await screenshot(page, 'sign-in-error');
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await eventually(() => page.getByTestId('active-persona').textContent()).toContain(displayName);
    expect(web.problems).toEqual([]);
    await web.context.close();
  });

  it('signs up with a handle and no email, showing the recovery codes once, signs in by handle, and recovers with a code', async () => {
    const web = await openPage(browser, server);
    const { page } = web;
    const handle = unique('h_').toLowerCase().slice(0, 30);
    await page.goto('/sign-up');
    await page.getByRole('button', { name: 'Handle, no email' }).click();
    await page.getByLabel('Handle', { exact: true }).fill(handle);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Display name').fill(unique('Nym '));
    await page.getByRole('button', { name: 'Create account' }).click();
    const codes = page.getByTestId('recovery-codes').locator('li');
    await eventually(() => codes.count()).toBe(10);
    await expectAccessible(page);
    await screenshot(page, 'recovery-codes');
    const firstCode = ((await codes.first().textContent()) ?? '').trim();
    // Continue is held back until the person says the codes are stored.
    expect(await page.getByRole('button', { name: 'Continue' }).isDisabled()).toBe(true);
    await page.getByLabel('I have stored these codes somewhere safe').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByTestId('active-persona').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByTestId('guest-persona').waitFor();
    await page.goto('/sign-in');
    await page.getByLabel('Email or handle').fill(handle);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByTestId('active-persona').waitFor();

    // The password is lost: one recovery code and a new password bring the person back.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByTestId('guest-persona').waitFor();
    await page.goto('/sign-in');
    await page.getByRole('link', { name: 'Use a recovery code' }).click();
    const newPassword = 'amber lanterns drift over the northern fjord';
    const recover = async () => {
      await page.getByLabel('Handle', { exact: true }).fill(handle);
      await page.getByLabel('Recovery code', { exact: true }).fill(firstCode);
      await page.getByLabel('New password', { exact: true }).fill(newPassword);
      await page.getByRole('button', { name: 'Recover and sign in' }).click();
    };
    await recover();
    await page.getByTestId('active-persona').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByTestId('guest-persona').waitFor();
    // The same code works once.
    await page.goto('/recover');
    await recover();
    await eventually(() => page.getByRole('alert').textContent()).toMatch(/\S/);
    await expectAccessible(page);
    await screenshot(page, 'recover');
    expect(web.problems).toEqual([]);
    await web.context.close();
  });
});

describe.skipIf(!chromiumAvailable)('web app: email code and passkey', () => {
  it('signs in with a code mailed over real SMTP', async () => {
    const web = await openPage(browser, server);
    const { page } = web;
    const email = `${unique('code')}@example.org`;
    await page.goto('/sign-in');
    await page.getByRole('button', { name: 'Email code' }).click();
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.getByLabel('Code', { exact: true }).waitFor();
    await eventually(() => sink.to(email).length).toBe(1);
    await expectAccessible(page);
    await screenshot(page, 'email-code');
    await page.getByLabel('Code', { exact: true }).fill(sink.lastCodeFor(email));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByTestId('active-persona').waitFor();
    expect(web.problems).toEqual([]);
    await web.context.close();
  });

  it('creates a passkey and signs in with it through Chromium\'s virtual authenticator', async () => {
    const web = await openPage(browser, server);
    const { page } = web;
    const cdp = await web.context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await page.goto('/sign-in');
    await page.getByRole('button', { name: 'Passkey' }).click();
    await expectAccessible(page);
    await screenshot(page, 'passkey');
    await page.getByRole('button', { name: 'Create a passkey' }).click();
    await page.getByTestId('active-persona').waitFor();
    const created = await page.getByTestId('active-persona').locator('.persona-name').textContent();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByTestId('guest-persona').waitFor();
    await page.goto('/sign-in');
    await page.getByRole('button', { name: 'Passkey' }).click();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await eventually(() => page.getByTestId('active-persona').locator('.persona-name').textContent()).toBe(created);
    expect(web.problems).toEqual([]);
    await web.context.close();
  });
});

describe.skipIf(!chromiumAvailable)('web app: wallet, key and social sign-in', () => {
  it('signs in with a wallet through an injected EIP-1193 provider backed by a viem key', async () => {
    const web = await openPage(browser, server);
    const account = newWallet();
    // The "wallet extension": window.ethereum in the page, its key in this process (as a wallet keeps it apart).
    await web.page.exposeFunction('testWalletSign', (hex: Hex) => account.signMessage({ message: { raw: hex } }));
    await web.page.addInitScript(`window.ethereum = {
      async request({ method, params }) {
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [${JSON.stringify(account.address.toLowerCase())}];
        if (method === 'personal_sign') return window.testWalletSign(params[0]);
        throw Object.assign(new Error('unsupported ' + method), { code: 4200 });
      },
    };`);
    await web.page.goto('/sign-in');
    await web.page.getByRole('button', { name: 'Wallet' }).click();
    expect(await axeViolations(web.page)).toEqual([]);
    await screenshot(web.page, 'wallet');
    await web.page.getByRole('button', { name: 'Sign in with a wallet' }).click();
    await web.page.getByTestId('active-persona').waitFor();
    const graph = await web.page.evaluate(`fetch('/api/v2/auth/identity-graph').then((r) => r.json())`) as { accounts: Array<{ type: string; current: boolean }> };
    expect(graph.accounts.find((item) => item.current)?.type).toBe('wallet');
    expect(web.problems).toEqual([]);
    await web.context.close();
  });

  it('signs in with an ed25519 key whose private half stays outside the browser', async () => {
    const web = await openPage(browser, server);
    const pair = newKeyPair();
    await web.page.goto('/sign-in');
    await web.page.getByRole('button', { name: 'Key', exact: true }).click();
    await web.page.getByLabel('Public key').fill(pair.publicKey);
    await web.page.getByRole('button', { name: 'Get the message to sign' }).click();
    const shown = (await web.page.getByTestId('key-message').textContent()) ?? '';
    expect(shown).toContain(`domain: localhost:`);
    const challenge = /challenge: (\S+)/.exec(shown)?.[1] ?? '';
    const proof = signKeyChallenge({ challenge, message: shown }, pair);
    await web.page.getByLabel('Signature').fill(proof.signature);
    expect(await axeViolations(web.page)).toEqual([]);
    await screenshot(web.page, 'key');
    await web.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await web.page.getByTestId('active-persona').waitFor();
    expect(web.problems).toEqual([]);
    await web.context.close();
  });

  it('signs in with an OpenID Connect provider and finishes on the callback page', async () => {
    const web = await openPage(browser, server);
    const atIdp = new IdpBrowser({ login: PERSON.id, password: PERSON.password });
    // The person at the provider: the browser's visit is answered by logging in and consenting at the
    // real provider (whose pages here are JSON), then redirecting back with its real code and state.
    await web.page.route(`${idp.issuer}/**`, async (route) => {
      const back = await atIdp.authorize(route.request().url());
      await route.fulfill({ status: 302, headers: { location: back } });
    });
    await web.page.goto('/sign-in');
    await web.page.getByRole('button', { name: 'Sign in with testid' }).click();
    await web.page.waitForURL((url) => url.pathname === '/');
    await web.page.getByTestId('active-persona').waitFor();
    expect(atIdp.prompts).toEqual(['login', 'consent']);
    // The ceremony secret was used up and removed.
    expect(await web.page.evaluate('sessionStorage.length')).toBe(0);
    // Coming back to the callback again (a replay, another tab) is refused in plain words.
    await web.page.goto('/api/v2/auth/social/callback?code=x&state=y');
    await eventually(() => web.page.getByRole('alert').textContent()).toContain('not started in this tab');
    expect(await axeViolations(web.page)).toEqual([]);
    await screenshot(web.page, 'social-callback');
    expect(web.problems).toEqual([]);
    await web.context.close();
  });
});

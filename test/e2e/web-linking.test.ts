import type { Browser, Locator, Page } from 'playwright-core';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GOOD_PASSWORD } from '../support/browser.js';
import { newKeyPair, signKeyChallenge, type TestKeyPair } from '../support/key-signer.js';
import { IdpBrowser, type TestIdp } from '../support/oidc-idp.js';
import type { SmtpSink } from '../support/smtp-sink.js';
import { newWallet } from '../support/wallet-signer.js';
import {
  BROWSER_TEST_TIMEOUT_MS, chromiumAvailable, closeAll, eventually, expectAccessible, launchChromium,
  openPage, PHONE, screenshot, startWebServerWithMailAndIdp, unique, type WebPage, type WebServer,
} from '../support/web-e2e.js';

/**
 * Linking every method from the linked-methods screen, stepping up with every method the person
 * holds, and bringing a guest along, in Chromium: one service (with a real SMTP server and a real
 * OpenID Connect provider beside it) and one browser for the file.
 */

let server: WebServer;
let browser: Browser;
let idp: TestIdp;
let sink: SmtpSink;
const PERSON = { id: 'lin', password: 'lin-at-the-idp' };

beforeAll(async () => {
  [{ server, idp, sink }, browser] = await Promise.all([startWebServerWithMailAndIdp(PERSON), launchChromium()]);
});

afterAll(() => closeAll({ browser, server, idp, sink }));

vi.setConfig({ testTimeout: BROWSER_TEST_TIMEOUT_MS });



/** An hour passes: the next sensitive change needs a step-up. */
async function ageSessions() {
  await server.test.database.db.updateTable('sessions').set({ authenticated_at: new Date(Date.now() - 3600_000) }).execute();
}

/** Asks for a code at the address and waits for the mail: the number of mails before tells which one is new. */
async function mailedCode(scope: Locator, email: string): Promise<string> {
  const before = sink.to(email).length;
  await scope.getByLabel('Email', { exact: true }).fill(email);
  await scope.getByRole('button', { name: 'Send me a code' }).click();
  await scope.getByLabel('Code', { exact: true }).waitFor();
  await eventually(() => sink.to(email).length).toBe(before + 1);
  return sink.lastCodeFor(email);
}

/** Fills the key ceremony (the public key, unless already there), signs the message shown, as the person's own tool would. */
async function signWithKey(scope: Locator, pair: TestKeyPair) {
  const field = scope.getByLabel('Public key');
  if ((await field.inputValue()) === '') await field.fill(pair.publicKey);
  await scope.getByRole('button', { name: 'Get the message to sign' }).click();
  const message = (await scope.getByTestId('key-message').textContent()) ?? '';
  const challenge = /challenge: (\S+)/.exec(message)?.[1] ?? '';
  await scope.getByLabel('Signature').fill(signKeyChallenge({ challenge, message }, pair).signature);
}

/** The person at the provider: each visit there is answered by the real provider's login and consent, then redirected back. */
async function answerAtProvider(web: WebPage) {
  const atIdp = new IdpBrowser({ login: PERSON.id, password: PERSON.password });
  await web.page.route(`${idp.issuer}/**`, async (route) => {
    await route.fulfill({ status: 302, headers: { location: await atIdp.authorize(route.request().url()) } });
  });
  return atIdp;
}

/** The "wallet extension": window.ethereum in the page, its key in this process. */
async function injectWallet(web: WebPage) {
  const account = newWallet();
  await web.page.exposeFunction('testWalletSign', (hex: Hex) => account.signMessage({ message: { raw: hex } }));
  await web.page.addInitScript(`window.ethereum = {
    async request({ method, params }) {
      if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [${JSON.stringify(account.address.toLowerCase())}];
      if (method === 'personal_sign') return window.testWalletSign(params[0]);
      throw Object.assign(new Error('unsupported ' + method), { code: 4200 });
    },
  };`);
}

async function graphOf(page: Page) {
  return page.evaluate(`fetch('/api/v2/auth/identity-graph').then((r) => r.json())`) as Promise<{
    accounts: Array<{ type: string; provider: string | null }>;
    profiles: Array<{ displayName: string }>;
  }>;
}

describe.skipIf(!chromiumAvailable)('web app: linking and step-up with every method', () => {
  it('brings a guest\'s personas along after an email-code sign-in, and steps up an email-only person with a code', async () => {
    const web = await openPage(browser, server);
    const { page } = web;
    await page.goto('/');
    const guestName = ((await page.getByTestId('guest-persona').locator('.persona-name').textContent()) ?? '').trim();
    expect(guestName).not.toBe('');

    const email = `${unique('guest')}@example.org`;
    await page.goto('/sign-in');
    await page.getByRole('button', { name: 'Email code', exact: true }).click();
    const code = await mailedCode(page.locator('main'), email);
    await page.getByLabel('Code', { exact: true }).fill(code);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByTestId('active-persona').waitFor();

    // Home asks, in plain words, before anything of the guest comes along.
    const offer = page.getByRole('region', { name: 'Bring this browser\'s guest along?' });
    await eventually(() => offer.getByTestId('guest-personas').textContent()).toContain(guestName);
    await expectAccessible(page);
    await screenshot(page, 'guest-merge');
    expect((await graphOf(page)).profiles.map((profile) => profile.displayName)).not.toContain(guestName);
    await offer.getByRole('button', { name: 'Bring them along' }).click();
    await eventually(() => page.getByRole('status').textContent()).toContain(`Brought along: ${guestName} is now your persona`);
    expect((await graphOf(page)).profiles.map((profile) => profile.displayName)).toContain(guestName);

    // Nothing stronger than the mailbox: a fresh code confirms it is them, and the key is linked.
    await ageSessions();
    await page.goto('/me/links');
    const methods = page.getByRole('list', { name: 'Your sign-in methods' }).getByRole('listitem');
    await eventually(() => methods.count()).toBe(1);
    await page.getByRole('group', { name: 'Method to link' }).getByRole('button', { name: 'Key', exact: true }).click();
    await signWithKey(page.locator('main'), newKeyPair());
    await page.getByRole('button', { name: 'Link this key' }).click();
    const stepUp = page.getByRole('dialog', { name: 'Confirm it is you' });
    await stepUp.getByRole('button', { name: 'Email code', exact: true }).click();
    // The dialog fits a phone, and reads well in the dark.
    await page.setViewportSize(PHONE.viewport);
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'step-up-phone-dark');
    const again = await mailedCode(stepUp, email);
    await stepUp.getByLabel('Code', { exact: true }).fill(again);
    await stepUp.getByRole('button', { name: 'Confirm', exact: true }).click();
    await eventually(() => methods.count()).toBe(2);
    await eventually(() => page.getByRole('status').first().textContent()).toContain('Linked');
    expect(web.problems).toEqual([]);
    await web.context.close();
  });

  it('links a wallet, an email address, a social account, a passkey and a key, stepping up with each kind', async () => {
    const web = await openPage(browser, server);
    const { page } = web;
    const cdp = await web.context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await injectWallet(web);
    const atIdp = await answerAtProvider(web);
    await page.goto('/sign-up');
    await page.getByLabel('Email', { exact: true }).fill(`${unique('links')}@example.org`);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Display name').fill(unique('Linker '));
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Welcome aboard' }).waitFor();

    await page.goto('/me/links');
    const methods = page.getByRole('list', { name: 'Your sign-in methods' }).getByRole('listitem');
    await eventually(() => methods.count()).toBe(1);
    const chooser = page.getByRole('group', { name: 'Method to link' });
    const stepUp = page.getByRole('dialog', { name: 'Confirm it is you' });
    const unlink = async (type: string) => methods.filter({ hasText: type }).filter({ has: page.getByRole('button', { name: 'Unlink' }) }).getByRole('button', { name: 'Unlink' }).click();

    // Fresh from signing up: each link goes straight through.
    await chooser.getByRole('button', { name: 'Wallet', exact: true }).click();
    await page.getByRole('button', { name: 'Link a wallet' }).click();
    await eventually(() => methods.count()).toBe(2);
    const extra = `${unique('extra')}@example.org`;
    await chooser.getByRole('button', { name: 'Email', exact: true }).click();
    await expectAccessible(page);
    await screenshot(page, 'link-method');
    await page.getByLabel('Code', { exact: true }).fill(await mailedCode(page.locator('main'), extra));
    await page.getByRole('button', { name: 'Link this address' }).click();
    await eventually(() => methods.count()).toBe(3);
    await chooser.getByRole('button', { name: 'Another service', exact: true }).click();
    await page.getByRole('button', { name: 'Link testid' }).click();
    await page.waitForURL((url) => url.pathname === '/me/links');
    await eventually(() => page.getByRole('status').textContent()).toContain('Linked: you can now sign in with that service too');
    await eventually(() => methods.count()).toBe(4);
    expect((await graphOf(page)).accounts.map((account) => account.provider ?? account.type).sort()).toEqual(['email', 'email', 'testid', 'wallet']);

    // An hour later. An email code is refused for a person who holds stronger methods, and the dialog says why; the wallet confirms.
    await ageSessions();
    await unlink('wallet');
    await stepUp.getByRole('button', { name: 'Email code', exact: true }).click();
    await eventually(() => stepUp.getByRole('alert').textContent()).toContain('An email code cannot confirm this change');
    await expectAccessible(page);
    await screenshot(page, 'step-up-methods');
    await stepUp.getByRole('button', { name: 'Wallet', exact: true }).click();
    await stepUp.getByRole('button', { name: 'Confirm with a wallet' }).click();
    await eventually(() => methods.count()).toBe(3);

    // The social account confirms through the provider (asked to log in again), and the person links the passkey once back.
    await ageSessions();
    await chooser.getByRole('button', { name: 'Passkey', exact: true }).click();
    await page.getByRole('button', { name: 'Link a passkey' }).click();
    await stepUp.getByRole('button', { name: 'Another service', exact: true }).click();
    await stepUp.getByRole('button', { name: 'Confirm with testid' }).click();
    await page.waitForURL((url) => url.pathname === '/me/links');
    await eventually(() => page.getByRole('status').textContent()).toContain('Confirmed');
    expect(atIdp.prompts.filter((prompt) => prompt === 'login').length).toBe(2);
    await page.getByRole('button', { name: 'Link a passkey' }).click();
    await eventually(() => methods.count()).toBe(4);

    // A named change survives the trip to the provider by its name alone: back on the account screen, the
    // deletion the person had asked for is offered again (its dialog reopened, to be confirmed once more).
    await ageSessions();
    await page.goto('/me/account');
    await page.getByRole('button', { name: 'Delete my identity…' }).click();
    const deletion = page.getByRole('dialog', { name: 'Delete your whole identity?' });
    const understood = deletion.getByLabel('I understand that my identity is deleted for good');
    await understood.check();
    await deletion.getByRole('button', { name: 'Delete my identity', exact: true }).click();
    await stepUp.getByRole('button', { name: 'Another service', exact: true }).click();
    await stepUp.getByRole('button', { name: 'Confirm with testid' }).click();
    await page.waitForURL((url) => url.pathname === '/me/account');
    await eventually(() => page.getByRole('status').filter({ hasText: 'You were about to' }).textContent()).toContain('You were about to delete your identity');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await expectAccessible(page);
    await screenshot(page, 'step-up-resumed');
    await page.getByRole('button', { name: 'Continue deleting my identity…' }).click();
    await deletion.waitFor();
    expect(await understood.isChecked()).toBe(false);
    await deletion.getByRole('button', { name: 'Cancel' }).click();
    await page.goto('/me/links');
    await eventually(() => methods.count()).toBe(4);

    // The passkey confirms the social account's unlinking.
    await ageSessions();
    await unlink('testid');
    await stepUp.getByRole('button', { name: 'Passkey', exact: true }).click();
    await stepUp.getByRole('button', { name: 'Confirm with a passkey' }).click();
    await eventually(() => methods.count()).toBe(3);

    // A key, linked while the session is fresh, then confirms the extra address's unlinking (the dialog knows its public key).
    const pair = newKeyPair();
    await chooser.getByRole('button', { name: 'Key', exact: true }).click();
    await signWithKey(page.locator('main'), pair);
    await page.getByRole('button', { name: 'Link this key' }).click();
    await eventually(() => methods.count()).toBe(4);
    await ageSessions();
    await unlink('email');
    await stepUp.getByRole('button', { name: 'Key', exact: true }).click();
    expect(await stepUp.getByLabel('Public key').inputValue()).toBe(pair.publicKey);
    await signWithKey(stepUp, pair);
    await stepUp.getByRole('button', { name: 'Confirm', exact: true }).click();
    await eventually(() => methods.count()).toBe(3);
    expect((await graphOf(page)).accounts.map((account) => account.type).sort()).toEqual(['email', 'key', 'passkey']);
    expect(web.problems).toEqual([]);
    await web.context.close();
  });
});

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GOOD_PASSWORD } from '../support/browser.js';
import {
  BROWSER_TEST_TIMEOUT_MS, chromiumAvailable, closeAll, eventually, expectAccessible, launchChromium,
  openPage, PHONE, screenshot, startWebServer, unique, type WebServer,
} from '../support/web-e2e.js';

/**
 * The account screen in Chromium (/me/account): recovery codes with step-up, the password and its
 * policy, the acting persona's session wallet, deleting the identity, a guest's way there; and the
 * persona list keeping a handle across a reload, moving it, taking it along through a rotation,
 * deleting a persona after a password step-up that refuses another account's password. One service
 * and one browser for the whole file.
 */

let server: WebServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startWebServer(), launchChromium()]);
});

afterAll(() => closeAll({ browser, server }));

vi.setConfig({ testTimeout: BROWSER_TEST_TIMEOUT_MS });



const codesOf = async (page: Page) => (await page.getByTestId('recovery-codes').locator('li').allTextContents()).map((code) => code.trim());

async function keepCodes(page: Page) {
  await page.getByLabel('I have stored these codes somewhere safe').check();
  await page.getByRole('button', { name: 'Continue' }).click();
}

describe.skipIf(!chromiumAvailable)('web app: account', () => {
  it('handle account: handle after a reload, moved, taken along a rotation; password step-ups; session wallet, policy, recovery codes, delete', async () => {
    const web = await openPage(browser, server);
    const { page } = web;
    const handle = unique('a_').toLowerCase().slice(0, 30);
    const displayName = unique('Acct ');
    await page.goto('/sign-up');
    await page.getByRole('button', { name: 'Handle, no email' }).click();
    await page.getByLabel('Handle', { exact: true }).fill(handle);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Display name').fill(displayName);
    await page.getByRole('button', { name: 'Create account' }).click();
    await eventually(async () => (await codesOf(page)).length).toBe(10);
    const firstCodes = await codesOf(page);
    await keepCodes(page);
    await page.getByTestId('active-persona').waitFor();

    // The persona list shows the handle (and the addresses it gives) after a reload, not only right after claiming.
    await page.goto('/me/personas');
    await page.reload();
    const persona = page.getByRole('list', { name: 'Your personas' }).getByRole('listitem', { name: displayName });
    await eventually(() => persona.locator('dl').textContent()).toContain(`${handle}@`);
    expect(await persona.locator('dl').textContent()).toContain(`@${handle}`);
    expect(await persona.getByRole('button', { name: 'Claim handle' }).count()).toBe(0);

    // The handle moves to a second persona once the person has read what changes; the first keeps nothing.
    const list = page.getByRole('list', { name: 'Your personas' });
    const second = unique('Second ');
    await page.getByLabel('Display name of the new persona').fill(second);
    await page.getByRole('button', { name: 'Create persona' }).click();
    await list.getByRole('listitem', { name: second }).waitFor();
    await persona.getByRole('button', { name: 'Move handle' }).click();
    const move = persona.getByRole('form', { name: `Move @${handle}` });
    await move.getByLabel(`Move @${handle} to`).selectOption({ label: second });
    const effects = (await move.getByTestId('handle-move-effects').textContent()) ?? '';
    for (const part of [`${handle}@`, 'Matrix id', 'public key hash', `${displayName} keeps nothing`]) expect(effects).toContain(part);
    await expectAccessible(page);
    await screenshot(page, 'persona-handle-move');
    await move.getByRole('button', { name: `Move @${handle} to ${second}` }).click();
    await eventually(() => page.getByRole('status').filter({ hasText: 'now belongs to' }).textContent()).toContain(`@${handle} now belongs to ${second}`);
    await eventually(() => list.getByRole('listitem', { name: second }).locator('dl').textContent()).toContain(`${handle}@`);
    expect(await persona.locator('dl').textContent()).not.toContain(handle);
    await persona.getByRole('button', { name: 'Claim handle' }).waitFor();

    // Rotating that persona can take the handle along to the new face (else it stays, retired, with the old one).
    await list.getByRole('listitem', { name: second }).getByRole('button', { name: 'Rotate' }).click();
    const rotate = page.getByRole('form', { name: `Rotate ${second}` });
    const third = unique('Third ');
    await rotate.getByLabel('New display name').fill(third);
    await rotate.getByLabel(`Take @${handle} along to the new face`).check();
    await rotate.getByRole('button', { name: 'Rotate persona' }).click();
    const rotated = list.getByRole('listitem', { name: third });
    await eventually(() => rotated.locator('dl').textContent()).toContain(`${handle}@`);

    // An hour later, deleting it needs a step-up. Another account's right password is refused, not signed in
    // as; the person's own handle and password confirm it.
    const other = { email: `${unique('other')}@example.org`, password: GOOD_PASSWORD, initialDisplayName: unique('Other ') };
    expect((await server.test.app.inject({ method: 'POST', url: '/auth/register', payload: other })).statusCode).toBe(201);
    await server.test.database.db.updateTable('sessions').set({ authenticated_at: new Date(Date.now() - 3600_000) }).execute();
    await rotated.getByRole('button', { name: 'Delete', exact: true }).click();
    await rotated.getByRole('button', { name: `Delete ${third} permanently` }).click();
    const confirmIt = page.getByRole('form', { name: 'Confirm it is you' });
    await confirmIt.getByLabel('Email or handle').fill(other.email);
    await confirmIt.getByLabel('Password').fill(other.password);
    await confirmIt.getByRole('button', { name: 'Confirm' }).click();
    await eventually(() => confirmIt.getByRole('alert').textContent()).toContain('INVALID_CREDENTIALS');
    const session = await page.evaluate(`fetch('/session').then((r) => r.json())`) as { persona: { displayName: string } };
    expect(session.persona.displayName).toBe(displayName);
    await confirmIt.getByLabel('Email or handle').fill(handle);
    await confirmIt.getByLabel('Password').fill(GOOD_PASSWORD);
    await confirmIt.getByRole('button', { name: 'Confirm' }).click();
    await eventually(() => page.getByRole('status').filter({ hasText: 'was deleted' }).textContent()).toContain(`${third} was deleted`);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    await eventually(() => page.getByTestId('recovery-remaining').textContent()).toContain('10 unused recovery codes');
    await page.getByRole('button', { name: 'Create a session wallet' }).click();
    const address = page.getByTestId('wallet-address');
    await eventually(() => address.textContent()).toMatch(/^0x[0-9a-f]{40}$/);
    const wallet = await address.textContent();
    await expectAccessible(page);
    await screenshot(page, 'account');

    // The password policy's own words, with its code.
    const passwordForm = page.getByRole('form', { name: 'Change password' });
    await passwordForm.getByLabel('New password', { exact: true }).fill('abcdefghijklmnopqrs');
    await passwordForm.getByLabel('Repeat the new password').fill('abcdefghijklmnopqrs');
    await passwordForm.getByRole('button', { name: 'Change password' }).click();
    await eventually(() => passwordForm.getByRole('alert').textContent()).toContain('WEAK_PASSWORD');
    expect(await passwordForm.getByRole('alert').textContent()).toContain('simple sequence');
    await screenshot(page, 'account-password-refused');

    // An hour later, new recovery codes need a fresh sign-in: the app asks for one, then makes them.
    await server.test.database.db.updateTable('sessions').set({ authenticated_at: new Date(Date.now() - 3600_000) }).execute();
    await page.getByRole('button', { name: 'Make new recovery codes' }).click();
    const stepUp = page.getByRole('form', { name: 'Confirm it is you' });
    await stepUp.getByLabel('Email or handle').fill(handle);
    await stepUp.getByLabel('Password').fill(GOOD_PASSWORD);
    await stepUp.getByRole('button', { name: 'Confirm' }).click();
    await eventually(async () => (await codesOf(page)).length).toBe(10);
    const newCodes = await codesOf(page);
    expect(newCodes.filter((code) => firstCodes.includes(code))).toEqual([]);
    expect(await page.getByRole('button', { name: 'Continue' }).isDisabled()).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'account-new-recovery-codes');
    await keepCodes(page);
    await eventually(() => page.getByTestId('recovery-remaining').textContent()).toContain('10 unused');

    // Fresh since the step-up: the password changes at once.
    const newPassword = 'copper gulls circle the western lighthouse';
    await passwordForm.getByLabel('New password', { exact: true }).fill(newPassword);
    await passwordForm.getByLabel('Repeat the new password').fill(newPassword);
    await passwordForm.getByRole('button', { name: 'Change password' }).click();
    await eventually(() => passwordForm.getByRole('status').textContent()).toContain('Password changed');
    // A reload keeps the wallet: it is the persona's, read back from the service.
    await page.reload();
    await eventually(() => address.textContent()).toBe(wallet);

    await page.setViewportSize({ width: 1280, height: 1400 }); // room for the whole dialog in its screenshot
    await page.getByRole('button', { name: 'Delete my identity…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete your whole identity?' });
    await dialog.waitFor();
    const said = await dialog.textContent();
    for (const part of ['Deleted now', 'Kept, and why', 'keyed hash', 'Grace period', '90 days', 'nothing can be restored']) expect(said).toContain(part);
    const confirm = dialog.getByRole('button', { name: 'Delete my identity', exact: true });
    expect(await confirm.isDisabled()).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'delete-identity');
    await dialog.getByLabel('I understand that my identity is deleted for good').check();
    await confirm.click();

    // Signed out, on the welcome screen as a guest; the handle and its password no longer sign in.
    await page.getByTestId('guest-persona').waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await page.getByRole('status').textContent()).toContain('Your identity was deleted');
    const login = await page.evaluate(`fetch('/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handle: ${JSON.stringify(handle)}, password: ${JSON.stringify(newPassword)} }) }).then((r) => r.json())`);
    expect(login).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    expect(web.problems).toEqual([]);
    await web.context.close();
  });

  it('fits a phone: a guest reaches the account screen; an email account has no recovery codes to show', async () => {
    const web = await openPage(browser, server, PHONE);
    const { page } = web;
    await page.goto('/');
    await page.getByTestId('guest-persona').waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    await page.getByText('You are a guest: there is no password here.').waitFor();
    await page.getByRole('button', { name: 'Delete my identity…' }).waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth')).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'account-guest-phone');

    await page.goto('/sign-up');
    await page.getByLabel('Email', { exact: true }).fill(`${unique('m')}@example.org`);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Display name').fill(unique('Phone '));
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Welcome aboard' }).waitFor();
    await page.goto('/me/account');
    await page.getByRole('button', { name: 'Create a session wallet' }).waitFor();
    await eventually(() => page.locator('[aria-busy="true"]').count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Recovery codes' }).count()).toBe(0);
    expect(await page.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth')).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'account-phone');
    expect(web.problems).toEqual([]);
    await web.context.close();
  });
});

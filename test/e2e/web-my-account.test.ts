import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GOOD_PASSWORD } from '../support/browser.js';
import {
  axeViolations, BROWSER_TEST_TIMEOUT_MS, chromiumAvailable, closeAll, eventually, expectAccessible,
  launchChromium, openPage, PHONE, screenshot, startWebServer, unique, type WebServer,
} from '../support/web-e2e.js';

/**
 * The web app's signed-in screens in Chromium: personas, sessions, identification, territory and
 * invitations, linked methods. One service and one browser for the whole file.
 */

let server: WebServer;
let browser: Browser;

async function admin(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) {
  return server.test.app.inject({ method, url, headers: server.test.adminHeaders, ...(payload ? { payload } : {}) });
}

beforeAll(async () => {
  [server, browser] = await Promise.all([startWebServer(), launchChromium()]);
  for (const territory of [{ code: 'dk', name: 'Denmark', inviteOnly: true }, { code: 'se', name: 'Sweden' }]) {
    expect((await admin('POST', '/admin/territories', territory)).statusCode).toBe(201);
  }
});

afterAll(() => closeAll({ browser, server }));

vi.setConfig({ testTimeout: BROWSER_TEST_TIMEOUT_MS });



/** Signs up with email and password; `path` empty: on the page already open (an invitation's landing). */
async function signUp(page: Page, path = '/sign-up'): Promise<{ email: string; displayName: string }> {
  const email = `${unique('p')}@example.org`;
  const displayName = unique('Pat ');
  if (path) await page.goto(path);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Welcome aboard' }).waitFor();
  return { email, displayName };
}

/** The acting persona's id, read the way the app reads it (the page's own cookies). */
async function actingPersonaId(page: Page): Promise<string> {
  return page.evaluate(`fetch('/session').then((r) => r.json()).then((s) => s.persona.id)`) as Promise<string>;
}

async function cookieHeader(context: BrowserContext): Promise<string> {
  return (await context.cookies()).map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
}

describe.skipIf(!chromiumAvailable)('web app: people', () => {
  it('manages personas: create, switch, rotate, claim a handle, deactivate, reactivate, delete', async () => {
    const web = await openPage(browser, server);
    const { page } = web;
    const { displayName } = await signUp(page);
    await page.goto('/me/personas');
    const list = page.getByRole('list', { name: 'Your personas' });
    await list.getByRole('listitem', { name: displayName }).waitFor();

    const second = unique('Second ');
    await page.getByLabel('Display name of the new persona').fill(second);
    await page.getByRole('button', { name: 'Create persona' }).click();
    const card = list.getByRole('listitem', { name: second });
    await card.waitFor();

    await card.getByRole('button', { name: `Act as ${second}` }).click();
    await card.getByText('acting', { exact: true }).waitFor();

    const rotated = unique('Rotated ');
    await card.getByRole('button', { name: 'Rotate' }).click();
    await card.getByLabel('New display name').fill(rotated);
    await card.getByRole('button', { name: 'Rotate persona' }).click();
    const rotatedCard = list.getByRole('listitem', { name: rotated });
    await rotatedCard.waitFor();

    const handle = unique('n_').toLowerCase().slice(0, 40);
    await rotatedCard.getByRole('button', { name: 'Claim handle' }).click();
    await rotatedCard.getByLabel('Handle', { exact: true }).fill(handle);
    await rotatedCard.getByRole('button', { name: 'Claim handle' }).last().click();
    await eventually(() => rotatedCard.locator('dl').textContent()).toContain(`${handle}@`);
    expect(await rotatedCard.locator('dl').textContent()).toContain(`@${handle}:`); // the Matrix id
    await expectAccessible(page);
    await screenshot(page, 'personas');

    const first = list.getByRole('listitem', { name: displayName });
    await first.getByRole('button', { name: 'Deactivate' }).click();
    await first.getByText('deactivated', { exact: true }).waitFor();
    await first.getByText('Restorable until').waitFor();
    await first.getByRole('button', { name: 'Reactivate' }).click();
    await first.getByRole('button', { name: 'Deactivate' }).waitFor();

    await first.getByRole('button', { name: 'Delete' }).click();
    await first.getByRole('button', { name: `Delete ${displayName} permanently` }).click();
    await eventually(() => page.getByRole('status').textContent()).toContain('purged for good after');
    // The notice comes with the answer; the list follows once it is read again.
    await eventually(() => list.getByRole('listitem', { name: displayName }).count()).toBe(0);
    expect(web.problems).toEqual([]);
    await web.context.close();
  });

  it('lists sessions and devices and signs out another one', async () => {
    const web = await openPage(browser, server);
    const { email } = await signUp(web.page);
    // A second device: another browser context signing in with the same account.
    const other = await openPage(browser, server);
    await other.page.goto('/sign-in');
    await other.page.getByLabel('Email or handle').fill(email);
    await other.page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await other.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await other.page.getByTestId('active-persona').waitFor();

    await web.page.goto('/me/security');
    const sessions = web.page.getByRole('list', { name: 'Your sessions' }).getByRole('listitem');
    await eventually(() => sessions.count()).toBe(2);
    await expectAccessible(web.page);
    await screenshot(web.page, 'sessions');
    await web.page.getByRole('button', { name: 'Sign out this device' }).click();
    await eventually(() => web.page.getByRole('status').textContent()).toContain('Signed out');
    await eventually(() => sessions.count()).toBe(1);
    // The other device is a guest again on its next request.
    await other.page.reload();
    await other.page.getByTestId('guest-persona').waitFor();
    expect([...web.problems, ...other.problems]).toEqual([]);
    await other.context.close();
    await web.context.close();
  });

  it('asks consent before storing identity data, shows it back, and deletes it', async () => {
    const web = await openPage(browser, server);
    const { page } = web;
    await page.goto('/me/identification');
    await page.getByLabel('Name').fill('Ada Lovelace');
    await page.getByLabel('Country').fill('UK');
    await page.getByRole('button', { name: 'Review and consent' }).click();
    const dialog = page.getByRole('dialog', { name: 'Do you consent to storing this?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Ada Lovelace');
    expect(await dialog.textContent()).toContain('delete it at any time');
    await expectAccessible(page);
    await screenshot(page, 'consent');
    // Cancel stores nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await fetch(`${server.origin}/identity-link`, { headers: { cookie: await cookieHeader(web.context) } })).status).toBe(404);
    await page.getByRole('button', { name: 'Review and consent' }).click();
    await dialog.getByRole('button', { name: 'I consent, store it' }).click();
    const stored = page.getByTestId('identity-data');
    await eventually(() => stored.textContent()).toContain('Ada Lovelace');
    await page.reload();
    await eventually(() => stored.textContent()).toContain('UK');
    await screenshot(page, 'identification');
    await page.getByRole('button', { name: 'Delete my identity data' }).click();
    await eventually(() => page.getByRole('status').textContent()).toContain('deleted');
    expect((await fetch(`${server.origin}/identity-link`, { headers: { cookie: await cookieHeader(web.context) } })).status).toBe(404);
    expect(web.problems).toEqual([]);
    await web.context.close();
  });
});

describe.skipIf(!chromiumAvailable)('web app: territory and invitations', () => {
  it('invites with a share link and QR code; the invitee lands, signs up into the territory; the inviter moves', async () => {
    const inviter = await openPage(browser, server);
    await signUp(inviter.page);
    // Inviting takes the REGULAR trust level (policy min_trust_level_to_invite); staff grant it.
    const granted = await admin('POST', `/admin/personas/${await actingPersonaId(inviter.page)}/trust-level`, { trustLevel: 'REGULAR' });
    expect(granted.statusCode, granted.body).toBe(200);

    await inviter.page.goto('/me/territory');
    const citizenships = inviter.page.getByRole('list', { name: 'Your citizenships' });
    await eventually(() => citizenships.textContent()).toContain('primary');
    await inviter.page.getByLabel('Into').selectOption('se');
    await inviter.page.getByLabel('Several people may use it (a group invitation)').check();
    await inviter.page.getByRole('button', { name: 'Create invitation' }).click();
    const created = inviter.page.getByTestId('new-invitation');
    await created.waitFor();
    const link = await created.getByLabel('Share link').inputValue();
    expect(link).toMatch(new RegExp(`^${server.origin}/invite#[A-Za-z0-9_-]{43}$`));
    const qr = created.getByRole('img', { name: 'QR code of the invitation link' });
    // The data URL decoded into a real picture (naturalWidth is 0 for a broken image).
    await eventually(() => qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    await expectAccessible(inviter.page);
    await screenshot(inviter.page, 'invitations');

    const invitee = await openPage(browser, server, PHONE);
    await invitee.page.goto(link);
    const card = invitee.page.getByTestId('invitation');
    await eventually(() => card.textContent()).toContain('Sweden');
    await expectAccessible(invitee.page);
    await screenshot(invitee.page, 'invite-landing-phone');
    await signUp(invitee.page, '');
    const inviteeCitizenships = await invitee.page.evaluate(`fetch('/api/v2/federation/citizenships').then((r) => r.json())`) as { citizenships: Array<{ territory: { code: string }; primary: boolean }> };
    expect(inviteeCitizenships.citizenships).toEqual([expect.objectContaining({ territory: expect.objectContaining({ code: 'se' }), primary: true })]);

    await inviter.page.reload();
    const invitations = inviter.page.getByRole('list', { name: 'Your invitations' });
    await eventually(() => invitations.textContent()).toContain('Used 1');

    // The inviter moves to Denmark? Invite-only: refused with the service's own words. Sweden: moved, keeping main.
    const move = inviter.page.getByRole('form', { name: 'Move to another territory' });
    await move.getByLabel('Territory').selectOption('dk');
    await move.getByRole('button', { name: 'Move' }).click();
    await eventually(() => move.getByRole('alert').textContent()).toContain('INVITATION_REQUIRED');
    await move.getByLabel('Territory').selectOption('se');
    await move.getByLabel('Keep my current citizenship as a second one').check();
    await move.getByRole('button', { name: 'Move' }).click();
    await eventually(() => citizenships.getByRole('listitem').count()).toBe(2);
    await eventually(() => citizenships.getByRole('listitem').filter({ hasText: 'primary' }).textContent()).toContain('Sweden');
    await screenshot(inviter.page, 'territory');
    expect([...inviter.problems, ...invitee.problems]).toEqual([]);
    await invitee.context.close();
    await inviter.context.close();
  });

  it('says plainly when an invitation link cannot be used', async () => {
    const web = await openPage(browser, server);
    await web.page.goto('/invite#' + 'A'.repeat(43));
    await eventually(() => web.page.getByRole('alert').textContent()).toMatch(/\S/);
    await expectAccessible(web.page);
    await web.page.goto('/invite');
    await web.page.getByText('This link carries no invitation').waitFor();
    expect(web.problems).toEqual([]);
    await web.context.close();
  });
});

describe.skipIf(!chromiumAvailable)('web app: linked sign-in methods', () => {
  it('draws the graph, links a passkey after a step-up, sets partial and isolated privacy, and unlinks', async () => {
    const web = await openPage(browser, server);
    const { page } = web;
    const cdp = await web.context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    const email = `links.${process.pid}.${Date.now()}@example.org`;
    const displayName = `Linker ${Date.now().toString(36)}`;
    await page.goto('/sign-up');
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Display name').fill(displayName);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Welcome aboard' }).waitFor();

    await page.goto('/me/links');
    const methods = page.getByRole('list', { name: 'Your sign-in methods' }).getByRole('listitem');
    await eventually(() => methods.count()).toBe(1);
    await page.getByRole('img', { name: 'Your identity graph' }).waitFor();

    // An hour later, linking needs a fresh sign-in first: the app asks for one, then links.
    await server.test.database.db.updateTable('sessions').set({ authenticated_at: new Date(Date.now() - 3600_000) }).execute();
    await page.getByRole('button', { name: 'Link a passkey' }).click();
    const stepUp = page.getByRole('form', { name: 'Confirm it is you' });
    await stepUp.waitFor();
    await eventually(async () => axeViolations(page)).toEqual([]);
    await screenshot(page, 'step-up');
    await stepUp.getByLabel('Email or handle').fill(email);
    await stepUp.getByLabel('Password').fill(GOOD_PASSWORD);
    await stepUp.getByRole('button', { name: 'Confirm' }).click();
    await eventually(() => methods.count()).toBe(2);
    expect(await page.getByRole('img', { name: 'Your identity graph' }).locator('desc').textContent()).toContain('1 direct link');

    const passkey = methods.filter({ hasText: 'passkey' });
    await passkey.getByLabel('Partial: its own personas and the ones chosen below').check();
    await passkey.getByLabel(displayName).check();
    await passkey.getByRole('button', { name: 'Save privacy' }).click();
    await eventually(async () => {
      const graph = await page.evaluate(`fetch('/api/v2/auth/identity-graph').then((r) => r.json())`) as { accounts: Array<{ type: string; privacyMode: string; selectedProfileIds: string[] }> };
      return graph.accounts.find((account) => account.type === 'passkey');
    }).toMatchObject({ privacyMode: 'partial', selectedProfileIds: [expect.any(String)] });
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'linked-methods');

    // Isolated: the method hides from the others, this session's included.
    await passkey.getByLabel('Isolated: only its own personas, and no other method sees it').check();
    await passkey.getByRole('button', { name: 'Save privacy' }).click();
    await eventually(() => page.getByRole('status').textContent()).toContain('hidden from your other methods');
    await eventually(() => methods.count()).toBe(1);

    // Another passkey, linked (the session is fresh since the step-up) and unlinked again.
    await page.getByRole('button', { name: 'Link a passkey' }).click();
    await eventually(() => methods.count()).toBe(2);
    await methods.filter({ hasText: 'passkey' }).getByRole('button', { name: 'Unlink' }).click();
    await eventually(() => page.getByRole('status').textContent()).toContain('Unlinked');
    await eventually(() => methods.count()).toBe(1);
    expect(web.problems).toEqual([]);
    await web.context.close();
  });
});

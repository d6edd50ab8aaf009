import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser as ApiBrowser, newPerson } from '../support/browser.js';
import {
  chromiumAvailable, closeAll, expectAccessible, launchChromium, openPage, PHONE, screenshot,
  startWebServer, type WebPage, type WebServer,
} from '../support/web-e2e.js';

/**
 * The staff console, driven as a moderator would drive it: sign in with a role token, click through,
 * and check each decision where it lands (the admin API, the database, the audit log).
 */

let server: WebServer;
let browser: Browser;
let moderator: { id: string; token: string };

beforeAll(async () => {
  server = await startWebServer();
  browser = await launchChromium();
  moderator = await issueToken('Mo (moderation)', 'moderator');
});

afterAll(() => closeAll({ browser, server }));

const db = () => server.test.database.db;

async function issueToken(name: string, role: 'admin' | 'moderator'): Promise<{ id: string; token: string }> {
  const answer = await server.test.app.inject({ method: 'POST', url: '/admin/tokens', headers: server.test.adminHeaders, payload: { name, role } });
  return { id: answer.json().adminToken.id, token: answer.json().token };
}

const adminGet = async (url: string) => (await server.test.app.inject({ method: 'GET', url, headers: server.test.adminHeaders })).json();

/** A person who browsed as a guest and then registered: the guest cookie becomes an inferred link. */
async function registeredPerson(): Promise<{ personaId: string; profileId: string; displayName: string }> {
  const visitor = new ApiBrowser(server.test.app);
  await visitor.request('POST', '/session');
  const person = newPerson('staffcase');
  expect((await visitor.register(person)).statusCode).toBe(201);
  const personaId = (await visitor.session()).persona?.id as string;
  const row = await db().selectFrom('personas').select('accountability_profile_id').where('id', '=', personaId).executeTakeFirstOrThrow();
  return { personaId, profileId: row.accountability_profile_id, displayName: person.initialDisplayName };
}


async function signIn(web: WebPage, token: string) {
  await web.page.goto('/staff');
  await web.page.getByLabel('Admin token').fill(token);
  await web.page.getByRole('button', { name: 'Sign in to the console' }).click();
  await web.page.getByRole('navigation', { name: 'Staff console' }).waitFor();
}

/** Opens a person through the console's own finder (the token lives in the page's memory: no reloads). */
async function openPersona(page: Page, personaId: string) {
  await page.getByRole('navigation', { name: 'Staff console' }).getByRole('link', { name: 'People' }).click();
  await page.getByLabel('Id', { exact: true }).fill(personaId);
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByRole('heading', { name: 'Standing' }).waitFor();
}

const profileRow = (profileId: string) =>
  db().selectFrom('accountability_profiles').select(['banned_at', 'risk_level', 'abuse_score', 'legal_hold']).where('id', '=', profileId).executeTakeFirstOrThrow();

describe.skipIf(!chromiumAvailable)('web app: staff console', () => {
  it('signs in with a role token, works the flags queue, opens the person with inferred links, bans and lifts the ban, finds it in the audit log', async () => {
    const suspect = await registeredPerson();
    await server.test.app.inject({ method: 'POST', url: `/admin/personas/${suspect.personaId}/flags`, headers: server.test.adminHeaders, payload: { reason: 'Posts the same link in every thread' } });
    const web = await openPage(browser, server);
    const { page } = web;

    await page.goto('/staff');
    await page.getByLabel('Admin token').fill('pk_admin_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in to the console' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('ADMIN_UNAUTHORIZED');
    await expectAccessible(page);
    await screenshot(page, 'staff-sign-in');
    await page.getByLabel('Admin token').fill(moderator.token);
    await page.getByRole('button', { name: 'Sign in to the console' }).click();
    // The console's own header: its sections, who is signed in (the token's name, role and actor), no people's navigation.
    const who = page.getByRole('banner').getByTestId('staff-who');
    await expect.poll(() => who.textContent()).toContain('Mo (moderation)');
    expect(await who.getByText('moderator', { exact: true }).count()).toBe(1);
    expect(await who.getByText(`admin-token:${moderator.id}`).count()).toBe(1);
    expect(await page.getByRole('navigation').count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Personas' }).count()).toBe(0);
    // Nor the people's session: opening the console started no guest identity.
    expect((await web.context.cookies()).map((cookie) => cookie.name)).toEqual([]);

    await page.getByRole('navigation', { name: 'Staff console' }).getByRole('link', { name: 'Flags queue' }).click();
    expect(await page.getByRole('link', { name: 'Flags queue' }).getAttribute('aria-current')).toBe('page');
    const queue = page.getByRole('list', { name: 'Flags, newest first' });
    const item = queue.getByRole('listitem', { name: `${suspect.displayName}: Posts the same link in every thread` });
    await item.waitFor();
    await expectAccessible(page);
    await screenshot(page, 'staff-flags');

    await item.getByRole('link', { name: `Open the person behind ${suspect.displayName}` }).click();
    await page.getByRole('heading', { name: 'Standing' }).waitFor();
    expect(await page.getByTestId('standing').textContent()).toContain(suspect.profileId);
    await page.getByRole('list', { name: 'Personas of this person' }).getByRole('listitem', { name: suspect.displayName }).waitFor();
    // The guest cookie that signed up: one person seen on it, so 0.9.
    expect(await page.getByTestId('link-confidence').first().textContent()).toBe('90 % (strong, not proof)');
    // Sign-in methods by kind only: the email address itself is never on the page.
    await page.getByRole('list', { name: 'Sign-in methods' }).getByText('email', { exact: true }).waitFor();
    await page.getByText('No direct links').waitFor();
    expect(await page.content()).not.toContain('@example.org');
    // The person view belongs to the People section; trust levels are an admin's to grant, so a moderator gets no form.
    expect(await page.getByRole('link', { name: 'People' }).getAttribute('aria-current')).toBe('true');
    expect(await page.getByRole('form', { name: `Trust level of ${suspect.displayName}` }).count()).toBe(0);
    await expectAccessible(page);
    await screenshot(page, 'staff-person');

    await page.getByLabel('Reason for the ban').fill('Spam ring');
    await page.getByRole('button', { name: 'Ban this person' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Banned');
    const banned = await profileRow(suspect.profileId);
    expect(banned.banned_at).not.toBeNull();
    expect(banned.risk_level).toBe('HIGH');
    expect((await adminGet(`/admin/personas/${suspect.personaId}`)).person.accountability).toMatchObject({ banned: true, banReason: 'Spam ring' });

    await page.getByRole('button', { name: 'Lift the ban' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Ban lifted');
    expect((await profileRow(suspect.profileId)).banned_at).toBeNull();

    await page.getByRole('link', { name: 'Audit trail of this person' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    // The person's whole trail: the look-ups, the flag and the ban name a persona of theirs.
    const trail = page.getByRole('list', { name: 'Audit entries, newest first' }).getByRole('listitem');
    await expect.poll(async () => (await trail.evaluateAll((items) => items.map((item) => item.getAttribute('aria-label')))).join()).toContain(`persona.flag on persona:${suspect.personaId}`);
    expect(await page.getByLabel('Person', { exact: true }).inputValue()).toBe(suspect.profileId);
    await page.getByLabel('Actor').fill(`admin-token:${moderator.id}`);
    await page.getByLabel('Action').fill('ban.');
    await page.getByRole('button', { name: 'Search' }).click();
    const entries = page.getByRole('list', { name: 'Audit entries, newest first' }).getByRole('listitem');
    await expect.poll(() => entries.count()).toBe(2);
    expect(await entries.nth(0).getAttribute('aria-label')).toBe(`ban.lift on persona:${suspect.personaId}`);
    expect(await entries.nth(1).textContent()).toContain('Spam ring');
    expect(new URL(page.url()).searchParams.get('action')).toBe('ban.');
    await expectAccessible(page);
    await screenshot(page, 'staff-audit');
    expect(web.problems).toEqual([]);
    await web.context.close();
  });

  it('records an appeal, reads its statement in the queue and overturns it with a new score', async () => {
    const person = await registeredPerson();
    await server.test.app.inject({ method: 'PUT', url: `/admin/people/${person.profileId}/abuse-score`, headers: server.test.adminHeaders, payload: { score: 0.8 } });
    const web = await openPage(browser, server);
    const { page } = web;
    await signIn(web, moderator.token);
    await page.getByRole('heading', { name: 'Find a person' }).waitFor();
    await expectAccessible(page);
    await openPersona(page, person.personaId);
    const statement = `Those were not my posts: my brother used my laptop (${person.personaId.slice(0, 6)}).`;
    await page.getByLabel("The person's appeal, in their words").fill(statement);
    await page.getByRole('button', { name: 'Record appeal' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Appeal recorded');
    await page.getByRole('list', { name: 'Open appeals of this person' }).getByText(statement).waitFor();

    await page.getByRole('navigation', { name: 'Staff console' }).getByRole('link', { name: 'Appeals' }).click();
    const appeal = page.getByRole('list', { name: 'Open appeals' }).getByRole('listitem').filter({ hasText: statement });
    await appeal.waitFor();
    await expectAccessible(page);
    await screenshot(page, 'staff-appeals');
    await appeal.getByLabel('Overturn (reverse it)').check();
    await appeal.getByLabel('Reasoning, for the record').fill('Shared device; cleared.');
    await appeal.getByLabel('New abuse score (optional)').fill('0.1');
    await appeal.getByRole('button', { name: 'Decide' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Appeal overturned. Their risk level is now LOW.');

    const stored = await db().selectFrom('appeals').select(['status', 'resolution']).where('accountability_profile_id', '=', person.profileId).executeTakeFirstOrThrow();
    expect(stored).toEqual({ status: 'overturned', resolution: 'Shared device; cleared.' });
    expect(await profileRow(person.profileId)).toMatchObject({ abuse_score: 0.1, risk_level: 'LOW' });
    await page.getByRole('button', { name: 'Overturned' }).click();
    await page.getByRole('list', { name: 'Overturned appeals' }).getByText(statement).waitFor();
    expect(web.problems).toEqual([]);
    await web.context.close();
  });

  it('places a legal hold on a person and lifts it from the holds list', async () => {
    const person = await registeredPerson();
    const web = await openPage(browser, server);
    const { page } = web;
    await signIn(web, moderator.token);
    await openPersona(page, person.personaId);
    await page.getByRole('button', { name: 'Place a legal hold' }).click();
    await expect.poll(() => page.getByTestId('standing').textContent()).toContain('yes: nothing of theirs is purged');
    expect((await profileRow(person.profileId)).legal_hold).toBe(true);

    await page.getByRole('navigation', { name: 'Staff console' }).getByRole('link', { name: 'Legal holds' }).click();
    const held = page.getByRole('list', { name: 'People under a legal hold' }).getByRole('listitem', { name: `Person ${person.profileId}` });
    await held.waitFor();
    await expectAccessible(page);
    await screenshot(page, 'staff-legal-holds');
    await held.getByRole('button', { name: 'Lift the hold' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Hold lifted');
    await expect.poll(() => held.count()).toBe(0);
    expect((await profileRow(person.profileId)).legal_hold).toBe(false);
    expect(web.problems).toEqual([]);
    await web.context.close();
  });

  it('lets an admin grant a persona trust, change and reset a policy, and shows a moderator the policies read-only', async () => {
    const admin = await issueToken('Ada (operator)', 'admin');
    const person = await registeredPerson();
    const web = await openPage(browser, server);
    const { page } = web;
    await signIn(web, admin.token);
    await openPersona(page, person.personaId);
    const trust = page.getByRole('form', { name: `Trust level of ${person.displayName}` });
    await trust.getByLabel(`Trust level of ${person.displayName}`).selectOption('TRUSTED');
    await trust.getByRole('button', { name: 'Set trust level' }).click();
    await expect.poll(() => trust.getByRole('status').textContent()).toContain(`${person.displayName} is now TRUSTED.`);
    const persona = await db().selectFrom('personas').select('trust_level').where('id', '=', person.personaId).executeTakeFirstOrThrow();
    expect(persona.trust_level).toBe('TRUSTED');
    const granted = await adminGet(`/admin/audit?target=persona:${person.personaId}&action=persona.trust-level`);
    expect(granted.entries).toMatchObject([{ actor: `admin-token:${admin.id}`, detail: { trustLevel: 'TRUSTED' } }]);
    await expect.poll(() => page.getByRole('list', { name: 'Personas of this person' }).textContent()).toContain('TRUSTED');
    expect(await trust.getByRole('button', { name: 'Set trust level' }).isDisabled()).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'staff-person-admin');

    await page.getByRole('navigation', { name: 'Staff console' }).getByRole('link', { name: 'Policies' }).click();
    const policy = page.getByRole('list', { name: 'Policies' }).getByRole('listitem', { name: 'max_personas_per_user' });
    await policy.waitFor();
    await policy.getByLabel('Value of max_personas_per_user (JSON)').fill('{ not json');
    await policy.getByRole('button', { name: 'Save max_personas_per_user' }).click();
    await expect.poll(() => policy.getByRole('alert').textContent()).toContain('not valid JSON');
    await policy.getByLabel('Value of max_personas_per_user (JSON)').fill('5');
    await policy.getByRole('button', { name: 'Save max_personas_per_user' }).click();
    await expect.poll(() => policy.getByRole('status').textContent()).toContain('saved');
    const current = async () => (await adminGet('/admin/policies')).policies.find((p: { name: string }) => p.name === 'max_personas_per_user');
    expect(await current()).toMatchObject({ value: 5, overridden: true });
    // The service judges the value: out of range is refused with its code, and nothing changes.
    await policy.getByLabel('Value of max_personas_per_user (JSON)').fill('1000');
    await policy.getByRole('button', { name: 'Save max_personas_per_user' }).click();
    await expect.poll(() => policy.getByRole('alert').textContent()).toContain('VALIDATION_FAILED');
    expect(await current()).toMatchObject({ value: 5 });
    await expectAccessible(page);
    await screenshot(page, 'staff-policies');
    await policy.getByRole('button', { name: 'Reset to default' }).click();
    await expect.poll(() => policy.getByRole('status').textContent()).toContain('back to its default');
    expect(await current()).toMatchObject({ value: 3, overridden: false });
    await web.context.close();

    const moderatorWeb = await openPage(browser, server);
    await signIn(moderatorWeb, moderator.token);
    await moderatorWeb.page.getByRole('navigation', { name: 'Staff console' }).getByRole('link', { name: 'Policies' }).click();
    await moderatorWeb.page.getByRole('note').getByText('an admin changes them').waitFor();
    expect(await moderatorWeb.page.getByRole('button', { name: /^Save / }).count()).toBe(0);
    expect(await moderatorWeb.page.getByLabel('Value of max_personas_per_user (JSON)').getAttribute('readonly')).not.toBeNull();
    expect([...web.problems, ...moderatorWeb.problems]).toEqual([]);
    await moderatorWeb.context.close();
  });

  it('fits a phone in dark mode, passes axe there, and works from the keyboard alone', async () => {
    const person = await registeredPerson();
    const web = await openPage(browser, server, { ...PHONE, colorScheme: 'dark' });
    const { page } = web;
    await page.goto('/staff');
    // Keyboard only: focus the token field, type, submit with Enter.
    await page.getByLabel('Admin token').focus();
    await page.keyboard.type(moderator.token);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Staff console' }).waitFor();
    await expectAccessible(page);
    await openPersona(page, person.personaId);
    const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await expectAccessible(page);
    await screenshot(page, 'staff-person-phone-dark');
    // Signing out forgets the token: the console asks for one again.
    await page.getByRole('button', { name: 'Sign out of the console' }).click();
    await page.getByLabel('Admin token').waitFor();

    // A token revoked mid-session: its next use is refused, and the console forgets it and says why.
    const shortLived = await issueToken('Temp (revoked in the test)', 'moderator');
    await page.getByLabel('Admin token').fill(shortLived.token);
    await page.getByRole('button', { name: 'Sign in to the console' }).click();
    await page.getByRole('navigation', { name: 'Staff console' }).waitFor();
    // The address is still the person's: let that screen finish loading before the token goes.
    await page.getByRole('list', { name: 'Sign-in methods' }).waitFor();
    const revoked = await server.test.app.inject({ method: 'DELETE', url: `/admin/tokens/${shortLived.id}`, headers: server.test.adminHeaders });
    expect(revoked.statusCode).toBe(200);
    await page.getByRole('link', { name: 'Flags queue' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('no longer accepts your admin token');
    await page.getByLabel('Admin token').waitFor();
    expect(web.problems).toEqual([]);
    await web.context.close();
  });
});

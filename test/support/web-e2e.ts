import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { DEFAULT_WEB_ROOT } from '../../src/http/web-app.js';
import { startTestApp, type TestApp, type TestAppOptions } from './app.js';
import { startTestIdp, type TestIdp } from './oidc-idp.js';
import { SmtpSink } from './smtp-sink.js';

/**
 * End-to-end support: the real service listening on a real port, serving the built web app, and
 * Debian's Chromium driven by playwright-core. One browser per test file (starting one costs about a
 * second), a fresh context (empty cookie jar) per test.
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The flags CI runs Chromium with: no network chatter, no GPU, no sandbox (containers lack the namespaces). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Whether this machine can run the browser tests; CI installs Chromium (.ci/run) so they never skip there. */
export const chromiumAvailable = existsSync(CHROMIUM_PATH);

export interface WebServer {
  readonly test: TestApp;
  /** http://localhost:<port>: a secure context for WebAuthn and Secure cookies, as https would be. */
  readonly origin: string;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts the service on a free port of localhost with the built web app. PUBLIC_ORIGIN names that
 * origin, so WebAuthn's RP id, SIWE's domain and OIDC redirects match what the browser sees.
 */
export async function startWebServer(options: TestAppOptions & { readonly port?: number } = {}): Promise<WebServer> {
  if (!existsSync(`${DEFAULT_WEB_ROOT}/index.html`)) {
    throw new Error('The web app is not built: run `npm run build:web` (npm test does it first).');
  }
  const port = options.port ?? (await freePort());
  const origin = `http://localhost:${port}`;
  const test = await startTestApp({ ...options, env: { PUBLIC_ORIGIN: origin, ...options.env } });
  await test.app.listen({ host: 'localhost', port });
  return { test, origin, close: () => test.close() };
}

export function launchChromium(): Promise<Browser> {
  // playwright-core gives each launch a fresh temporary profile (--user-data-dir), removed on close.
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** A phone-sized viewport (iPhone 12–15 class), used by the phone-width checks. */
export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } as const;

export interface WebPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Content-Security-Policy violations and uncaught page errors seen so far: tests expect none. */
  readonly problems: string[];
}

/** A fresh context (no cookies) and page on the server's origin, watching for CSP violations and script errors. */
export async function openPage(browser: Browser, server: WebServer, options: BrowserContextOptions = {}): Promise<WebPage> {
  const context = await browser.newContext({ baseURL: server.origin, ...options });
  context.setDefaultTimeout(20_000); // well inside the e2e tests' 90 s budget, generous for a loaded machine
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
  });
  return { context, page, problems };
}

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

/**
 * Runs axe-core (WCAG 2.x A and AA rules) on the page as it is. The source goes in through the
 * DevTools protocol, which a page's CSP does not govern, so the page keeps its strict policy.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate('typeof window.axe === "object"');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  return page.evaluate(`(async () => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  })()`) as Promise<AxeViolation[]>;
}

const SCREENSHOT_DIR = new URL('../../docs/images/', import.meta.url);

/**
 * Saves docs/images/web-<name>.png when WEB_SCREENSHOTS=1 (the docs refresh, `npm run screenshots`);
 * ordinary runs leave the committed images alone.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.WEB_SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: new URL(`web-${name}.png`, SCREENSHOT_DIR).pathname, fullPage: true });
}

/**
 * Closes everything a browser test file started, all at once, waiting at most `withinMs` for each.
 * A part that does not close in time is named on stderr and left behind rather than failing a file
 * whose tests all passed: the worker's exit ends it (playwright kills the Chromium it launched).
 */
export async function closeAll(parts: Record<string, { close(): Promise<void> } | undefined>, withinMs = 20_000): Promise<void> {
  await Promise.all(
    Object.entries(parts).map(async ([name, part]) => {
      if (!part) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), withinMs)));
      const outcome = await Promise.race([part.close().then(() => 'closed' as const), late]);
      clearTimeout(timer);
      if (outcome === 'late') console.error(`e2e teardown: ${name} did not close within ${withinMs} ms; left to the worker's exit`);
    }),
  );
}

/**
 * A browser test waits on a real service, Chromium and a shared 2-core machine: generous limits, so
 * that load makes a test slow rather than red (`vi.setConfig({ testTimeout: BROWSER_TEST_TIMEOUT_MS })`).
 */
export const BROWSER_TEST_TIMEOUT_MS = 90_000;

/** Polls until `read` passes the assertion that follows, for up to 20 s. */
export const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 100 });

let counter = 0;
/** A name no other test (nor an earlier run against the same services) has used. */
export const unique = (tag: string) => `${tag}${process.pid.toString(36)}${Date.now().toString(36)}${++counter}`;

/** axe-core (WCAG 2.1 A and AA) finds nothing on the page as it is now. */
export async function expectAccessible(page: Page): Promise<void> {
  expect(await axeViolations(page)).toEqual([]);
}

/** The OpenID Connect client the service is configured with against the test provider. */
const OIDC_CLIENT = { clientId: 'personae-web', clientSecret: 'a client secret long enough for HS256 signing' } as const;

export interface WebServerWithMailAndIdp {
  readonly server: WebServer;
  /** A real OpenID Connect provider, offered by the service as `testid`. */
  readonly idp: TestIdp;
  /** A real SMTP server that keeps what the service mails. */
  readonly sink: SmtpSink;
}

/** The service with a real SMTP server and a real OpenID Connect provider (knowing `person`) beside it. */
export async function startWebServerWithMailAndIdp(person: { readonly id: string; readonly password: string }): Promise<WebServerWithMailAndIdp> {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const [idp, sink] = await Promise.all([
    startTestIdp({ clients: [{ ...OIDC_CLIENT, redirectUris: [`${origin}/api/v2/auth/social/callback`] }], accounts: [person] }),
    SmtpSink.start(),
  ]);
  const server = await startWebServer({
    port,
    env: { SMTP_URL: sink.url, OIDC_PROVIDERS: JSON.stringify([{ name: 'testid', issuer: idp.issuer, ...OIDC_CLIENT }]) },
  });
  return { server, idp, sink };
}

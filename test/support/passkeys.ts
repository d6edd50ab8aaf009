import { TokenHasher } from '../../src/crypto/tokens.js';
import type { TestApp } from './app.js';
import { Browser } from './browser.js';
import { SoftwareAuthenticator, type CeremonyOverrides, type SoftwareCredential } from './software-authenticator.js';

export const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0';
export const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36';

/** A person who signed up with a passkey through the routes, from a browser with a user agent. */
export interface PasskeyPerson {
  readonly browser: Browser;
  readonly authenticator: SoftwareAuthenticator;
  readonly credential: SoftwareCredential;
  readonly accountId: string;
  readonly profileId: string;
  readonly personaId: string;
}

export async function registerPasskeyPerson(test: TestApp, userAgent = FIREFOX_LINUX): Promise<PasskeyPerson> {
  const browser = new Browser(test.app, { 'user-agent': userAgent });
  const asked = await browser.request('POST', '/api/v2/auth/challenge', { strategy: 'passkey', mode: 'register' });
  if (asked.statusCode !== 200) throw new Error(`passkey options: ${asked.body}`);
  const authenticator = new SoftwareAuthenticator(test.config.publicOrigin);
  const { response, credential } = authenticator.register(asked.json().options);
  const signedUp = await browser.request('POST', '/api/v2/auth/authenticate', { strategy: 'passkey', response });
  if (signedUp.statusCode !== 200) throw new Error(`passkey sign-up: ${signedUp.body}`);
  const hasher = new TokenHasher(test.config.secrets.tokenHashKey);
  const account = await test.database.db
    .selectFrom('accounts')
    .select(['id', 'accountability_profile_id as profileId'])
    .where('type', '=', 'passkey')
    .where('lookup_key', '=', hasher.hash('account', `passkey:${credential.id}`))
    .executeTakeFirstOrThrow();
  return { browser, authenticator, credential, accountId: account.id, profileId: account.profileId, personaId: signedUp.json().profiles[0].id };
}

/** Signs in with the person's passkey from a new browser; answers the browser and the response. */
export async function signInWithPasskey(test: TestApp, person: PasskeyPerson, userAgent = CHROME_MAC, overrides: CeremonyOverrides = {}) {
  const browser = new Browser(test.app, { 'user-agent': userAgent });
  const asked = await browser.request('POST', '/api/v2/auth/challenge', { strategy: 'passkey', mode: 'authenticate' });
  if (asked.statusCode !== 200) throw new Error(`passkey options: ${asked.body}`);
  const response = person.authenticator.authenticate(asked.json().options, { ...overrides, credential: person.credential });
  return { browser, response: await browser.request('POST', '/api/v2/auth/authenticate', { strategy: 'passkey', response }) };
}

import type { LightMyRequestResponse } from 'fastify';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { PrivateKeyAccount } from 'viem/accounts';
import { startTestApp, type TestApp } from './app.js';
import { Browser, newPerson } from './browser.js';
import { newKeyPair, signKeyChallenge, type TestKeyPair } from './key-signer.js';
import { IdpBrowser, startTestIdp, type IdpAccount } from './oidc-idp.js';
import { SmtpSink } from './smtp-sink.js';
import { SoftwareAuthenticator, type SoftwareCredential } from './software-authenticator.js';
import { newWallet, signWalletChallenge } from './wallet-signer.js';

/**
 * Every sign-in method behind one interface, driven through the real routes with real parts: an
 * SMTP server that receives the codes, an OpenID Connect provider, a software WebAuthn
 * authenticator, secp256k1 and ed25519 keys. One app has every method configured, so a suite can
 * loop over `drivers` and run the same checks on each (spec 003: every strategy enforces bans,
 * deletion, rate limits and the session rules identically).
 */

export const METHOD_NAMES = ['guest', 'email', 'wallet', 'social', 'passkey', 'key'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];
export type ClientKind = 'browser' | 'api';

/** The body of `POST /api/v2/auth/authenticate` (without `client`): the strategy and its proof fields. */
export interface Proof {
  readonly strategy: MethodName;
}

/** Something a person signs in with: a mailbox, a wallet, an IdP user, a passkey, a key pair, a guest cookie. */
export interface SignInIdentity {
  /** Runs the ceremony's challenge from `browser` and answers the proof, not yet presented. */
  prove(browser: Browser): Promise<Proof>;
  /**
   * The service deleted this method with its person. Only a passkey cares: its credential is gone
   * from the service, so the authenticator registers it again (under the same credential id, the
   * only identifier the service keys a passkey by) instead of asserting with it.
   */
  forgotten(): void;
}

export interface SignInDriver {
  readonly name: MethodName;
  /**
   * False for `guest`: there is no challenge, hence nothing to replay or rate-limit, and the
   * identity is the browser's `anon_id` cookie, so it cannot be carried to another client.
   */
  readonly ceremony: boolean;
  newIdentity(): SignInIdentity;
  /** Challenge and proof through the real routes; answers the raw authentication response. */
  signIn(identity: SignInIdentity, browser: Browser, options?: { client?: ClientKind }): Promise<LightMyRequestResponse>;
  /** Presents a proof (again, for replays). */
  present(proof: Proof, browser: Browser, client?: ClientKind): Promise<LightMyRequestResponse>;
  /** One `POST /api/v2/auth/challenge`, answered raw (for the rate-limit check). */
  challenge(browser: Browser): Promise<LightMyRequestResponse>;
}

export interface SignInDrivers {
  readonly test: TestApp;
  readonly drivers: readonly SignInDriver[];
  driver(name: MethodName): SignInDriver;
  /** A browser with a client address of its own (per-client limits never mix two tests). */
  browser(): Browser;
  close(): Promise<void>;
}

const ORIGIN = 'https://id.example';
const IDP_CLIENT = { clientId: 'personae', clientSecret: 'a-client-secret-of-the-test-idp', redirectUris: [`${ORIGIN}/api/v2/auth/social/callback`] };
/** People at the provider (it only knows accounts declared at start); ample for one suite. */
const IDP_ACCOUNTS: readonly IdpAccount[] = Array.from({ length: 48 }, (_, i) => ({ id: `parity-${i}`, password: `password-${i}` }));

/**
 * Starts the SMTP server, the OpenID Connect provider and ONE app with every method configured.
 * `env` adds to (and overrides) what the methods need.
 */
export async function startSignInDrivers(env: Record<string, string> = {}): Promise<SignInDrivers> {
  const sink = await SmtpSink.start();
  const idp = await startTestIdp({ clients: [IDP_CLIENT], accounts: IDP_ACCOUNTS });
  const test = await startTestApp({
    env: {
      PUBLIC_ORIGIN: ORIGIN,
      SMTP_URL: sink.url,
      OIDC_PROVIDERS: JSON.stringify([{ name: 'idp', issuer: idp.issuer, clientId: IDP_CLIENT.clientId, clientSecret: IDP_CLIENT.clientSecret }]),
      // Each browser gets its own address through X-Forwarded-For, believed from the in-process client.
      TRUST_PROXY: '127.0.0.1',
      // The code-send limits are email's own (auth-email tests them); here they must not interfere.
      EMAIL_CODE_SENDS_PER_RECIPIENT: '1000',
      LOGIN_ATTEMPTS_PER_CLIENT: '10000',
      ...env,
    },
  });
  let clients = 0;
  const drivers = [guestDriver(), emailDriver(sink), walletDriver(), socialDriver(), passkeyDriver(), keyDriver()];
  return {
    test,
    drivers,
    driver: (name) => {
      const found = drivers.find((one) => one.name === name);
      if (!found) throw new Error(`no driver for ${name}`);
      return found;
    },
    browser: () => {
      clients++;
      // 198.18.0.0/15 is reserved for benchmarks: never a real client.
      return new Browser(test.app, { 'x-forwarded-for': `198.18.${Math.floor(clients / 250)}.${(clients % 250) + 1}` });
    },
    close: async () => {
      await test.close();
      await Promise.all([sink.close(), idp.close()]);
    },
  };
}

/**
 * What every driver shares: presenting a proof, and a sign-in made of `prove` then `present`.
 * `challengeBody` is what one challenge asks for (null: the method has none).
 */
function driver(name: MethodName, challengeBody: (() => Record<string, unknown>) | null, newIdentity: () => SignInIdentity): SignInDriver {
  const present = (proof: Proof, browser: Browser, client: ClientKind = 'browser') =>
    browser.request('POST', '/api/v2/auth/authenticate', { ...proof, client });
  return {
    name,
    ceremony: challengeBody !== null,
    newIdentity,
    present,
    signIn: async (identity, browser, options = {}) => present(await identity.prove(browser), browser, options.client),
    challenge: (browser) => {
      if (!challengeBody) throw new Error(`${name} has no challenge`);
      return browser.request('POST', '/api/v2/auth/challenge', { strategy: name, ...challengeBody() });
    },
  };
}

/** A challenge that must succeed; its body. */
async function challengeOk<T>(browser: Browser, payload: Record<string, unknown>): Promise<T> {
  const response = await browser.request('POST', '/api/v2/auth/challenge', payload);
  if (response.statusCode !== 200) throw new Error(`challenge ${JSON.stringify(payload.strategy)} answered ${response.statusCode}: ${response.body}`);
  return response.json() as T;
}

const stays = () => undefined;

/** Guest: no ceremony; the identity is whatever `anon_id` the browser presents (or a new one). */
function guestDriver(): SignInDriver {
  return driver('guest', null, () => ({ prove: async () => ({ strategy: 'guest' }), forgotten: stays }));
}

/** Email: a fresh mailbox; the code is read from what the SMTP server received. */
function emailDriver(sink: SmtpSink): SignInDriver {
  return driver('email', () => ({ email: newPerson('limit').email }), () => {
    const { email } = newPerson('parity');
    return {
      prove: async (browser) => {
        await challengeOk(browser, { strategy: 'email', email });
        return { strategy: 'email', email, code: sink.lastCodeFor(email) };
      },
      forgotten: stays,
    };
  });
}

/** Wallet: a fresh secp256k1 key signing the EIP-4361 message. */
function walletDriver(): SignInDriver {
  return driver('wallet', () => ({}), () => {
    const wallet: PrivateKeyAccount = newWallet();
    return {
      prove: async (browser) => signWalletChallenge(await challengeOk(browser, { strategy: 'wallet' }), wallet),
      forgotten: stays,
    };
  });
}

/** Social: a fresh user at the provider, with a browser of their own there (its session persists). */
function socialDriver(): SignInDriver {
  let next = 0;
  return driver('social', () => ({ provider: 'idp' }), () => {
    const account = IDP_ACCOUNTS[next++];
    if (!account) throw new Error('out of provider accounts');
    const atIdp = new IdpBrowser({ login: account.id, password: account.password });
    return {
      prove: async (browser) => {
        const started = await challengeOk<{ authorizationUrl: string; verificationId: string }>(browser, { strategy: 'social', provider: 'idp' });
        return { strategy: 'social', callbackUrl: await atIdp.authorize(started.authorizationUrl), verificationId: started.verificationId };
      },
      forgotten: stays,
    };
  });
}

/** Passkey: a software authenticator; the first ceremony registers a credential, later ones assert with it. */
function passkeyDriver(): SignInDriver {
  return driver('passkey', () => ({ mode: 'authenticate' }), () => {
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    let credential: SoftwareCredential | undefined;
    let known = false; // whether the service holds the credential
    return {
      prove: async (browser) => {
        if (credential && known) {
          const { options } = await challengeOk<{ options: PublicKeyCredentialRequestOptionsJSON }>(browser, { strategy: 'passkey', mode: 'authenticate' });
          return { strategy: 'passkey', response: authenticator.authenticate(options, { credential }) };
        }
        const { options } = await challengeOk<{ options: PublicKeyCredentialCreationOptionsJSON }>(browser, { strategy: 'passkey', mode: 'register' });
        const made = authenticator.register(options, credential ? { credentialId: credential.id } : {});
        credential = made.credential;
        known = true;
        return { strategy: 'passkey', response: made.response };
      },
      forgotten: () => {
        known = false;
      },
    };
  });
}

/** Key: a fresh ed25519 pair signing the sign-in message. */
function keyDriver(): SignInDriver {
  return driver('key', () => ({ publicKey: newKeyPair().publicKey }), () => {
    const pair: TestKeyPair = newKeyPair();
    return {
      prove: async (browser) => signKeyChallenge(await challengeOk(browser, { strategy: 'key', publicKey: pair.publicKey }), pair),
      forgotten: stays,
    };
  });
}

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
// @ts-expect-error -- oidc-provider 8 ships no type declarations; the few parts used are typed below.
import ProviderModule from 'oidc-provider';

/**
 * A real OpenID Connect provider (panva's oidc-provider, the certified implementation) on
 * 127.0.0.1 and a free port, for the social sign-in tests. Its login and consent pages are small
 * JSON endpoints that `signInAtIdp` drives the way a person would with a browser.
 */

export interface IdpClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
}

export interface IdpAccount {
  /** The subject (`sub`) and the login name. */
  readonly id: string;
  readonly password: string;
  /** Released in the ID token under the `openid` scope (so that tests can show it is never a key). */
  readonly email?: string;
}

export interface TestIdpOptions {
  readonly clients: readonly IdpClient[];
  readonly accounts: readonly IdpAccount[];
  /**
   * A misbehaving provider: ID tokens name this audience instead of the client that redeemed the
   * code (as an IdP that confuses its clients would), so a relying party's audience check must catch it.
   */
  readonly idTokenAudience?: string;
  /**
   * The same provider also answers under this path (`/alias` → `<issuer>/alias/...`), as behind a
   * misconfigured proxy: discovery there still names the canonical issuer.
   */
  readonly aliasPath?: string;
  /** Listen on this port (a provider that comes up where one was down); 0, a free one, by default. */
  readonly port?: number;
}

export interface TestIdp {
  /** The canonical issuer, `http://127.0.0.1:<port>`. */
  readonly issuer: string;
  /** How many token requests the provider has answered (successful or not). */
  readonly tokenRequests: number;
  close(): Promise<void>;
}

interface Interaction {
  readonly uid: string;
  readonly prompt: { readonly name: string; readonly details: Record<string, unknown> };
  readonly params: Record<string, unknown>;
  readonly session?: { readonly accountId: string };
  readonly grantId?: string;
}

interface Grant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: readonly string[]): void;
  save(): Promise<string>;
}

interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: unknown, options: { mergeWithLastSubmission: boolean }): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): void;
  readonly Grant: { new (fields: { accountId: string; clientId: string }): Grant; find(id: string): Promise<Grant | undefined> };
  readonly IdToken: { prototype: { issue(this: { client: { clientId: string } }, options?: { use?: string }): Promise<string> } };
}

const Provider = ProviderModule as unknown as new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;

export async function startTestIdp(options: TestIdpOptions): Promise<TestIdp> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => handler?.(req, res));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const accounts = new Map(options.accounts.map((account) => [account.id, account]));
  const provider = new Provider(issuer, {
    clients: options.clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: [...client.redirectUris],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // openid-client's default client authentication.
      token_endpoint_auth_method: 'client_secret_post',
    })),
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-idp', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // The `openid` scope alone releases the email: the relying party sees it and must not key by it.
    claims: { openid: ['sub', 'email', 'email_verified'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true, methods: ['S256'] },
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
    findAccount: (_ctx: unknown, id: string) => {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, ...(account.email ? { email: account.email, email_verified: true } : {}) }),
      };
    },
  });

  if (options.idTokenAudience !== undefined) {
    const audience = options.idTokenAudience;
    const issue = provider.IdToken.prototype.issue;
    provider.IdToken.prototype.issue = function (this: { client: { clientId: string } }, issueOptions) {
      if (issueOptions?.use === 'idtoken') {
        const client = this.client;
        this.client = new Proxy(client, { get: (target, key) => (key === 'clientId' ? audience : Reflect.get(target, key, target)) });
      }
      return issue.call(this, issueOptions);
    };
  }

  let tokenRequests = 0;
  provider.on('grant.success', () => void tokenRequests++);
  provider.on('grant.error', () => void tokenRequests++);

  const oidc = provider.callback();
  handler = (req, res) => {
    if (options.aliasPath && req.url?.startsWith(`${options.aliasPath}/`)) req.url = req.url.slice(options.aliasPath.length);
    const interaction = /^\/interaction\/([\w-]+)(?:\/(login|consent|abort))?$/.exec(req.url ?? '');
    if (!interaction) return oidc(req, res);
    interact(provider, accounts, req, res, interaction[2]).catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  };

  return {
    issuer,
    get tokenRequests() {
      return tokenRequests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The provider's login and consent "pages": GET says which prompt is pending, POST answers it. */
async function interact(
  provider: OidcProvider,
  accounts: ReadonlyMap<string, IdpAccount>,
  req: IncomingMessage,
  res: ServerResponse,
  action: string | undefined,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET' && action === undefined) return json(res, 200, { uid: details.uid, prompt: details.prompt.name });
  if (req.method !== 'POST') return json(res, 405, { error: 'method not allowed' });
  const form = new URLSearchParams(await readBody(req));
  if (action === 'abort') {
    // The person refuses: the provider sends the browser back with error=access_denied.
    const result = { error: 'access_denied', error_description: 'End-User aborted interaction <b>with some text</b>' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  if (action === 'login' && details.prompt.name === 'login') {
    const account = accounts.get(form.get('login') ?? '');
    if (!account || account.password !== form.get('password')) return json(res, 401, { error: 'wrong login or password' });
    return provider.interactionFinished(req, res, { login: { accountId: account.id } }, { mergeWithLastSubmission: false });
  }
  if (action === 'consent' && details.prompt.name === 'consent' && details.session) {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: String(details.params.client_id) });
    if (!grant) return json(res, 400, { error: 'grant not found' });
    const { missingOIDCScope, missingOIDCClaims } = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  }
  return json(res, 400, { error: `unexpected ${action ?? 'request'} for prompt ${details.prompt.name}` });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The person's browser at the provider: keeps the provider's cookies between visits (so a second
 * sign-in may find the provider session still open, as in real life).
 */
export class IdpBrowser {
  readonly #jar = new Map<string, string>();
  /** Every prompt the provider asked, in order (`login`, `consent`), across all visits. */
  readonly prompts: string[] = [];

  constructor(
    private readonly credentials: { readonly login: string; readonly password: string },
    /** Refuse at the consent prompt instead of accepting. */
    private readonly refuseConsent = false,
  ) {}

  /**
   * Follows the authorization URL through the provider's login and consent until the provider
   * redirects away from itself, and answers that redirect: normally our redirect_uri with `code`,
   * `state` and `iss` (or `error`).
   */
  async authorize(authorizationUrl: string): Promise<string> {
    const origin = new URL(authorizationUrl).origin;
    let url = authorizationUrl;
    for (let step = 0; step < 20; step++) {
      const response = await this.#fetch(url);
      if (response.status >= 300 && response.status < 400) {
        const location = new URL(response.headers.get('location') ?? '', url).href;
        if (new URL(location).origin !== origin) return location;
        url = location;
        continue;
      }
      if (response.status !== 200) throw new Error(`the provider answered ${response.status}: ${await response.text()}`);
      const { prompt } = (await response.json()) as { prompt: string };
      this.prompts.push(prompt);
      const form =
        prompt === 'login' ? new URLSearchParams({ login: this.credentials.login, password: this.credentials.password }) : new URLSearchParams();
      const action = prompt === 'consent' && this.refuseConsent ? 'abort' : prompt;
      const answered = await this.#fetch(`${url}/${action}`, form);
      if (answered.status !== 303) throw new Error(`the ${prompt} prompt answered ${answered.status}: ${await answered.text()}`);
      url = new URL(answered.headers.get('location') ?? '', url).href;
    }
    throw new Error('too many redirects at the provider');
  }

  async #fetch(url: string, form?: URLSearchParams): Promise<Response> {
    const cookie = [...this.#jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: form.toString() } : {}),
    });
    for (const set of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = set.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expired = attributes.some((attribute) => /^\s*(max-age=0|expires=thu, 01 jan 1970)/i.test(attribute));
      if (expired || value === '') this.#jar.delete(name);
      else this.#jar.set(name, value);
    }
    return response;
  }
}

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Config } from '../../src/config.js';

export const SESSION_COOKIE = '__Host-session';

/** A password the policy accepts (long, not common, not a sequence); tests vary it with a suffix. */
export const GOOD_PASSWORD = 'violet kestrel orbits the quiet harbour';

let counter = 0;
/** A fresh address and display name per call, so tests never collide. */
export function newPerson(tag = 'p'): { email: string; password: string; initialDisplayName: string } {
  counter++;
  const unique = `${process.pid.toString(36)}${Date.now().toString(36)}${counter}`;
  return { email: `${tag}.${unique}@example.org`, password: GOOD_PASSWORD, initialDisplayName: `${tag} ${unique}` };
}

/**
 * A browser with a full cookie jar: `anon_id` and the signed-in session cookie, kept and cleared
 * as a real browser would (a cleared cookie comes back with Max-Age=0 or an expiry in the past).
 */
export class Browser {
  readonly jar = new Map<string, string>();

  constructor(
    private readonly app: FastifyInstance,
    private readonly extraHeaders: Record<string, string> = {},
  ) {}

  async request(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await this.app.inject({
      method,
      url,
      ...(payload === undefined ? {} : { payload: payload as object }),
      headers: { ...this.extraHeaders, ...(cookie ? { cookie } : {}), ...headers },
    });
    for (const set of response.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      const expired = set.maxAge === 0 || (set.expires !== undefined && set.expires.getTime() <= Date.now()) || set.value === '';
      if (expired) this.jar.delete(set.name);
      else this.jar.set(set.name, set.value);
    }
    return response;
  }

  get anonCookie(): string | undefined {
    return this.jar.get('anon_id');
  }

  get sessionCookie(): string | undefined {
    return this.jar.get(SESSION_COOKIE);
  }

  /** The raw anonymous token inside the signed cookie value (`<token>.<issued>.<signature>`). */
  get anonToken(): string {
    const value = this.anonCookie;
    if (!value) throw new Error('no anon_id cookie');
    return decodeURIComponent(value).split('.')[0] ?? '';
  }

  /** The raw session token inside the signed cookie value (`<token>.<signature>`). */
  get sessionToken(): string {
    const value = this.sessionCookie;
    if (!value) throw new Error('no session cookie');
    return decodeURIComponent(value).split('.')[0] ?? '';
  }

  register(person: { email: string; password: string; initialDisplayName: string }) {
    return this.request('POST', '/auth/register', person);
  }

  login(credentials: { email: string; password: string }) {
    return this.request('POST', '/auth/login', { email: credentials.email, password: credentials.password });
  }

  async session(): Promise<{ started: boolean; anonymous: boolean; banned: boolean; persona: Record<string, unknown> | null }> {
    return (await this.request('GET', '/session')).json();
  }
}

/** The environment that rebuilds an app with the same secrets (a second node, or a restart). */
export function sameSecrets(config: Config): Record<string, string> {
  const { secrets } = config;
  return {
    COOKIE_SECRETS: secrets.cookieSecrets.join(','),
    TOKEN_HASH_KEY: secrets.tokenHashKey,
    PSEUDONYM_KEYS: secrets.pseudonymKeys.map((key) => `${key.id}:${key.secret}`).join(','),
    ADMIN_TOKEN: secrets.adminToken,
    EMAIL_KEYS: secrets.emailKeys.map((key) => `${key.id}:${key.secret}`).join(','),
  };
}

/** Count of argon2id operations so far, read from the service's own metrics. */
export async function passwordHashings(app: FastifyInstance): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const match = /^personae_password_hashing_seconds_count (\d+)$/m.exec(text);
  return match ? Number(match[1]) : 0;
}

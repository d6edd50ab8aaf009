import Type from 'typebox';
import Value from 'typebox/value';
import { SECRET_NAMES, type SecretName } from './dev-secrets.js';

/**
 * The parsers of configuration values that are more than a number or a string: key lists,
 * secrets and OpenID Connect providers. `config.ts` alone reads the environment and calls them.
 */

/** The minimum length of every secret, in characters (32 random bytes encode to 43). */
export const MIN_SECRET_LENGTH = 32;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A versioned key: the id travels with what it produced, so old values stay verifiable after rotation. */
export interface VersionedKey {
  readonly id: string;
  readonly secret: string;
}

export interface Secrets {
  /** Signing secrets for cookies; the first signs, all verify (rotation). */
  readonly cookieSecrets: readonly string[];
  /** HMAC key for every stored token hash (anonymous tokens, sessions, API keys). */
  readonly tokenHashKey: string;
  /** Pseudonym keys; the first is current. */
  readonly pseudonymKeys: readonly VersionedKey[];
  /** The operator's bootstrap admin bearer token (role `admin`); more tokens are made through the API. */
  readonly adminToken: string;
  /** Keys that encrypt email addresses; the first encrypts, all decrypt (rotation). */
  readonly emailKeys: readonly VersionedKey[];
}

/** One OpenID Connect provider; accounts are keyed by its issuer and the subject, never by email. */
export interface OidcProviderConfig {
  readonly name: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

const OidcProvidersSchema = Type.Array(
  Type.Object(
    {
      name: Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }),
      issuer: Type.String({ pattern: '^https?://' }),
      clientId: Type.String({ minLength: 1 }),
      clientSecret: Type.String({ minLength: 1 }),
    },
    { additionalProperties: false },
  ),
);

export function parseOidcProviders(raw: string): readonly OidcProviderConfig[] {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ConfigError('Invalid configuration: OIDC_PROVIDERS must be JSON: [{"name", "issuer", "clientId", "clientSecret"}].');
  }
  if (!Value.Check(OidcProvidersSchema, value)) {
    throw new ConfigError('Invalid configuration: OIDC_PROVIDERS must be an array of {name (a-z, 0-9, _ or -), issuer (URL), clientId, clientSecret}.');
  }
  const names = value.map((provider) => provider.name);
  if (new Set(names).size !== names.length) throw new ConfigError('Invalid configuration: OIDC_PROVIDERS names must be unique.');
  return Object.freeze(value.map((provider) => Object.freeze({ ...provider })));
}

export function requireAll(given: Partial<Record<SecretName, string>>, environment: string): Record<SecretName, string> {
  const missing = SECRET_NAMES.filter((name) => !given[name]);
  if (missing.length > 0) {
    throw new ConfigError(
      `Missing secrets in ${environment}: ${missing.join(', ')}. Set each to at least ${MIN_SECRET_LENGTH} random characters ` +
        `(for example: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))").`,
    );
  }
  return given as Record<SecretName, string>;
}

export function parseSecrets(raw: Record<SecretName, string>): Secrets {
  const cookieSecrets = splitList(raw.COOKIE_SECRETS);
  const pseudonymKeys = splitList(raw.PSEUDONYM_KEYS).map((entry) => parseVersionedKey(entry, 'PSEUDONYM_KEYS'));
  const emailKeys = splitList(raw.EMAIL_KEYS).map((entry) => parseVersionedKey(entry, 'EMAIL_KEYS'));
  const tooShort = [
    ...(cookieSecrets.length === 0 || cookieSecrets.some(isShort) ? ['COOKIE_SECRETS'] : []),
    ...(isShort(raw.TOKEN_HASH_KEY) ? ['TOKEN_HASH_KEY'] : []),
    ...(pseudonymKeys.length === 0 || pseudonymKeys.some((key) => isShort(key.secret)) ? ['PSEUDONYM_KEYS'] : []),
    ...(isShort(raw.ADMIN_TOKEN) ? ['ADMIN_TOKEN'] : []),
    ...(emailKeys.length === 0 || emailKeys.some((key) => isShort(key.secret)) ? ['EMAIL_KEYS'] : []),
  ];
  if (tooShort.length > 0) {
    throw new ConfigError(`Secrets too short: ${tooShort.join(', ')} (each needs at least ${MIN_SECRET_LENGTH} characters).`);
  }
  return Object.freeze({
    cookieSecrets: Object.freeze(cookieSecrets),
    tokenHashKey: raw.TOKEN_HASH_KEY,
    pseudonymKeys: Object.freeze(pseudonymKeys),
    adminToken: raw.ADMIN_TOKEN,
    emailKeys: Object.freeze(emailKeys),
  });
}

/** Key lists are `id:secret[,id:secret…]`; ids are short and name the key inside what it produced. */
function parseVersionedKey(entry: string, variable: string): VersionedKey {
  const match = /^([a-z0-9]{1,8}):(.+)$/.exec(entry);
  if (!match?.[1] || !match[2]) {
    throw new ConfigError(`${variable} must be a comma-separated list of id:secret (id: 1–8 of a-z, 0-9).`);
  }
  return Object.freeze({ id: match[1], secret: match[2] });
}

function isShort(secret: string): boolean {
  return secret.length < MIN_SECRET_LENGTH;
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}


/**
 * `TERRITORY_DATABASE_URLS`: `code=postgres://…` pairs, comma-separated. A territory named here
 * keeps its schema on that server; any other lives in the global database.
 */
export function parseTerritoryDatabaseUrls(raw: string): Readonly<Record<string, string>> {
  const urls: Record<string, string> = {};
  for (const entry of splitList(raw)) {
    const match = /^([a-z][a-z0-9]{1,15})=(postgres(ql)?:\/\/\S+)$/.exec(entry);
    if (!match?.[1] || !match[2]) {
      throw new ConfigError('Invalid configuration: TERRITORY_DATABASE_URLS must be code=postgres://… pairs, comma-separated.');
    }
    if (Object.hasOwn(urls, match[1])) throw new ConfigError(`Invalid configuration: TERRITORY_DATABASE_URLS names ${match[1]} twice.`);
    urls[match[1]] = match[2];
  }
  return Object.freeze(urls);
}

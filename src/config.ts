import { resolve } from 'node:path';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { loadDevelopmentSecrets, SECRET_NAMES, type SecretName } from './dev-secrets.js';

/** The minimum length of every secret, in characters (32 random bytes encode to 43). */
export const MIN_SECRET_LENGTH = 32;

const EnvironmentSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
  }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  DATA_DIR: Type.String({ default: './data' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 10_485_760, default: 65_536 }),
  ALLOWED_ORIGINS: Type.String({ default: '' }),
  SESSION_CACHE_TTL_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 60 }),
  SESSION_CACHE_MAX_ENTRIES: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 100_000 }),
  COOKIE_SECRETS: Type.Optional(Type.String()),
  TOKEN_HASH_KEY: Type.Optional(Type.String()),
  PSEUDONYM_KEYS: Type.Optional(Type.String()),
  ADMIN_TOKEN: Type.Optional(Type.String()),
});

type Environment = Static<typeof EnvironmentSchema>;

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
  /** The operator's admin bearer token. */
  readonly adminToken: string;
}

export interface Config {
  readonly environment: Environment['NODE_ENV'];
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** A PostgreSQL server; absent means the embedded PGlite database in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  /** Origins besides the service's own that may send state-changing requests. */
  readonly allowedOrigins: readonly string[];
  readonly sessionCache: { readonly ttlSeconds: number; readonly maxEntries: number };
  readonly secrets: Secrets;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Reads the environment once into a frozen, typed configuration. This is the only reader of
 * `process.env`. Outside production, missing secrets are generated once and kept in the data folder;
 * in production every secret must be given and long enough, and the error names each one that is not.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = parseEnvironment(env);
  const dataDir = resolve(parsed.DATA_DIR);
  const given: Partial<Record<SecretName, string>> = {
    COOKIE_SECRETS: parsed.COOKIE_SECRETS,
    TOKEN_HASH_KEY: parsed.TOKEN_HASH_KEY,
    PSEUDONYM_KEYS: parsed.PSEUDONYM_KEYS,
    ADMIN_TOKEN: parsed.ADMIN_TOKEN,
  };
  const allGiven = SECRET_NAMES.every((name) => given[name]);
  const raw =
    parsed.NODE_ENV === 'production' || allGiven
      ? requireAll(given, parsed.NODE_ENV)
      : { ...loadDevelopmentSecrets(dataDir), ...defined(given) };
  return Object.freeze({
    environment: parsed.NODE_ENV,
    host: parsed.HOST,
    port: parsed.PORT,
    dataDir,
    databaseUrl: parsed.DATABASE_URL,
    redisUrl: parsed.REDIS_URL,
    logLevel: parsed.LOG_LEVEL,
    bodyLimitBytes: parsed.BODY_LIMIT_BYTES,
    allowedOrigins: Object.freeze(splitList(parsed.ALLOWED_ORIGINS)),
    sessionCache: Object.freeze({
      ttlSeconds: parsed.SESSION_CACHE_TTL_SECONDS,
      maxEntries: parsed.SESSION_CACHE_MAX_ENTRIES,
    }),
    secrets: parseSecrets(raw),
  });
}

/** Variables that must be written as plain whole numbers (Convert would turn `3000.5` into 3000). */
const INTEGER_VARIABLES = Object.entries(EnvironmentSchema.properties)
  .filter(([, schema]) => (schema as { type?: unknown }).type === 'integer')
  .map(([name]) => name);

function parseEnvironment(env: NodeJS.ProcessEnv): Environment {
  const notWhole = INTEGER_VARIABLES.filter((name) => env[name] !== undefined && env[name] !== '' && !/^\d+$/.test(env[name]));
  if (notWhole.length > 0) throw new ConfigError(`Invalid configuration: ${notWhole.join(', ')} must be a whole number.`);
  const known = Object.fromEntries(
    Object.keys(EnvironmentSchema.properties)
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  const value = Value.Convert(EnvironmentSchema, Value.Default(EnvironmentSchema, known));
  if (!Value.Check(EnvironmentSchema, value)) {
    const problems = [...Value.Errors(EnvironmentSchema, value)].map(
      (error) => `${error.instancePath.slice(1) || 'environment'}: ${error.message}`,
    );
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return value;
}

function requireAll(given: Partial<Record<SecretName, string>>, environment: string): Record<SecretName, string> {
  const missing = SECRET_NAMES.filter((name) => !given[name]);
  if (missing.length > 0) {
    throw new ConfigError(
      `Missing secrets in ${environment}: ${missing.join(', ')}. Set each to at least ${MIN_SECRET_LENGTH} random characters ` +
        `(for example: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))").`,
    );
  }
  return given as Record<SecretName, string>;
}

function parseSecrets(raw: Record<SecretName, string>): Secrets {
  const cookieSecrets = splitList(raw.COOKIE_SECRETS);
  const pseudonymKeys = splitList(raw.PSEUDONYM_KEYS).map(parseVersionedKey);
  const tooShort = [
    ...(cookieSecrets.length === 0 || cookieSecrets.some(isShort) ? ['COOKIE_SECRETS'] : []),
    ...(isShort(raw.TOKEN_HASH_KEY) ? ['TOKEN_HASH_KEY'] : []),
    ...(pseudonymKeys.length === 0 || pseudonymKeys.some((key) => isShort(key.secret)) ? ['PSEUDONYM_KEYS'] : []),
    ...(isShort(raw.ADMIN_TOKEN) ? ['ADMIN_TOKEN'] : []),
  ];
  if (tooShort.length > 0) {
    throw new ConfigError(`Secrets too short: ${tooShort.join(', ')} (each needs at least ${MIN_SECRET_LENGTH} characters).`);
  }
  return Object.freeze({
    cookieSecrets: Object.freeze(cookieSecrets),
    tokenHashKey: raw.TOKEN_HASH_KEY,
    pseudonymKeys: Object.freeze(pseudonymKeys),
    adminToken: raw.ADMIN_TOKEN,
  });
}

/** `PSEUDONYM_KEYS` is `id:secret[,id:secret…]`; ids are short and name the key inside every pseudonym. */
function parseVersionedKey(entry: string): VersionedKey {
  const match = /^([a-z0-9]{1,8}):(.+)$/.exec(entry);
  if (!match?.[1] || !match[2]) {
    throw new ConfigError('PSEUDONYM_KEYS must be a comma-separated list of id:secret (id: 1–8 of a-z, 0-9).');
  }
  return Object.freeze({ id: match[1], secret: match[2] });
}

function isShort(secret: string): boolean {
  return secret.length < MIN_SECRET_LENGTH;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

function defined<T extends object>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Partial<T>;
}

import { resolve } from 'node:path';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { ConfigError, parseOidcProviders, parseSecrets, parseTerritoryDatabaseUrls, requireAll, splitList, type OidcProviderConfig, type Secrets } from './config-values.js';
import { loadDevelopmentSecrets, SECRET_NAMES, type SecretName } from './dev-secrets.js';

export { ConfigError, MIN_SECRET_LENGTH, type OidcProviderConfig, type Secrets, type VersionedKey } from './config-values.js';

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
  // Which requests get an access-log line (at info): every one, only slow or failed (5xx) ones, or none.
  ACCESS_LOG: Type.Union([Type.Literal('all'), Type.Literal('slow'), Type.Literal('off')], { default: 'slow' }),
  ACCESS_LOG_SLOW_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 1000 }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 10_485_760, default: 65_536 }),
  ALLOWED_ORIGINS: Type.String({ default: '' }),
  SESSION_CACHE_TTL_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 60 }),
  SESSION_CACHE_MAX_ENTRIES: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 100_000 }),
  SESSION_IDLE_TIMEOUT_SECONDS: Type.Integer({ minimum: 60, maximum: 31_536_000, default: 604_800 }),
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: Type.Integer({ minimum: 60, maximum: 31_536_000, default: 2_592_000 }),
  TRUST_PROXY: Type.String({ default: '' }),
  LOGIN_ATTEMPTS_PER_ACCOUNT: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  LOGIN_ATTEMPTS_PER_CLIENT: Type.Integer({ minimum: 1, maximum: 100_000, default: 30 }),
  LOGIN_ATTEMPT_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 900 }),
  // OWASP's argon2id floor (m=19 MiB, t=2, p=1) is the minimum: the service can be made stronger, not weaker.
  PASSWORD_MEMORY_KIB: Type.Integer({ minimum: 19_456, maximum: 4_194_304, default: 19_456 }),
  PASSWORD_TIME_COST: Type.Integer({ minimum: 2, maximum: 100, default: 2 }),
  PASSWORD_PARALLELISM: Type.Integer({ minimum: 1, maximum: 16, default: 1 }),
  // 0: all cores but one, so the event loop always has a core while passwords are hashed.
  PASSWORD_HASHING_CONCURRENCY: Type.Integer({ minimum: 0, maximum: 256, default: 0 }),
  PURGE_INTERVAL_SECONDS: Type.Integer({ minimum: 0, maximum: 604_800, default: 3600 }),
  // Rows done with are pruned this often (0: only `node dist/cli.js prune`, e.g. from cron), after these retentions.
  PRUNE_INTERVAL_SECONDS: Type.Integer({ minimum: 0, maximum: 604_800, default: 3600 }),
  // Where autovacuum does not run (the embedded database, a server with autovacuum off): how often tables are analyzed and vacuumed as it would (0: never).
  TABLE_MAINTENANCE_INTERVAL_SECONDS: Type.Integer({ minimum: 0, maximum: 86_400, default: 60 }),
  // How often territory rows whose global owner does not exist are deleted, once older than the grace (longer than any
  // transaction runs: a remote row commits before its owner does). A node also sweeps soon after start (orphanSweepStart).
  // 0: only `node dist/cli.js sweep-orphans`, which never deletes identification nothing points at.
  ORPHAN_SWEEP_INTERVAL_SECONDS: Type.Integer({ minimum: 0, maximum: 604_800, default: 3600 }),
  ORPHAN_GRACE_SECONDS: Type.Integer({ minimum: 60, maximum: 604_800, default: 600 }),
  EVENT_RETENTION_SECONDS: Type.Integer({ minimum: 60, maximum: 315_360_000, default: 604_800 }),
  EXPIRED_RETENTION_SECONDS: Type.Integer({ minimum: 60, maximum: 315_360_000, default: 86_400 }),
  NATS_URL: Type.Optional(Type.String({ pattern: '^(nats|tls)://' })),
  NATS_SUBJECT_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', default: 'personae.events' }),
  EVENT_RELAY_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 5_000 }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 10_000 }),
  WEBHOOK_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 50, default: 12 }),
  WEBHOOK_RETRY_BASE_MS: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 30_000 }),
  // The service's public address: Sign-In with Ethereum's domain and URI, WebAuthn's origin, the
  // OpenID Connect redirect, the JWT issuer. Empty means http://localhost:<PORT>.
  PUBLIC_ORIGIN: Type.String({ pattern: '^(https?://[^/?#\\s]+)?$', default: '' }),
  // The WebAuthn relying party id; empty means PUBLIC_ORIGIN's host name.
  WEBAUTHN_RP_ID: Type.String({ default: '' }),
  WEBAUTHN_RP_NAME: Type.String({ minLength: 1, default: 'personae' }),
  // Chain ids a Sign-In with Ethereum message may name (comma-separated).
  SIWE_CHAIN_IDS: Type.String({ pattern: '^\\s*\\d+(\\s*,\\s*\\d+)*\\s*$', default: '1' }),
  // How long a sign-in challenge (nonce, WebAuthn challenge, OIDC state, key challenge) lives.
  CHALLENGE_TTL_SECONDS: Type.Integer({ minimum: 30, maximum: 3600, default: 300 }),
  // Ceremonies one client may start per window, per method (POST /api/v2/auth/challenge).
  CHALLENGES_PER_CLIENT: Type.Integer({ minimum: 1, maximum: 100_000, default: 30 }),
  CHALLENGE_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
  // Email codes: SMTP server (smtp:// or smtps://, credentials in the URL); without it, outside
  // production, messages are written to <DATA_DIR>/mail and listed by the development inbox.
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  EMAIL_FROM: Type.String({ minLength: 3, default: 'personae <no-reply@localhost>' }),
  EMAIL_CODE_SENDS_PER_RECIPIENT: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  EMAIL_CODE_SEND_WINDOW_SECONDS: Type.Integer({ minimum: 60, maximum: 86_400, default: 3600 }),
  // OpenID Connect providers: a JSON array of {name, issuer, clientId, clientSecret}.
  OIDC_PROVIDERS: Type.String({ default: '[]' }),
  // API clients: access tokens (JWT) live this long; signing keys rotate this often.
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 30, maximum: 86_400, default: 600 }),
  SIGNING_KEY_ROTATION_SECONDS: Type.Integer({ minimum: 300, maximum: 31_536_000, default: 86_400 }),
  // Linking, unlinking, password changes and deletion need a strong sign-in at most this old.
  STEP_UP_WINDOW_SECONDS: Type.Integer({ minimum: 30, maximum: 3600, default: 300 }),
  // Territories on their own PostgreSQL servers: `code=postgres://…`, comma-separated (data residency).
  TERRITORY_DATABASE_URLS: Type.String({ default: '' }),
  // WebFinger and public identity lookups one client may make per window (they are unauthenticated).
  LOOKUPS_PER_CLIENT: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 600 }),
  LOOKUP_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
  // Live identities kept per node for the public lookups, checked against the identity generation (0: off).
  IDENTITY_CACHE_TTL_SECONDS: Type.Integer({ minimum: 0, maximum: 60, default: 5 }),
  COOKIE_SECRETS: Type.Optional(Type.String()),
  TOKEN_HASH_KEY: Type.Optional(Type.String()),
  PSEUDONYM_KEYS: Type.Optional(Type.String()),
  ADMIN_TOKEN: Type.Optional(Type.String()),
  EMAIL_KEYS: Type.Optional(Type.String()),
});

type Environment = Static<typeof EnvironmentSchema>;

export interface Config {
  readonly environment: Environment['NODE_ENV'];
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** A PostgreSQL server; absent means the embedded PGlite database in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly logLevel: string;
  /** Access-log lines: `all` requests, only `slow` (≥ slowMs) or failed (5xx) ones, or `off`. */
  readonly accessLog: { readonly mode: 'all' | 'slow' | 'off'; readonly slowMs: number };
  readonly bodyLimitBytes: number;
  /** Origins besides the service's own that may send state-changing requests. */
  readonly allowedOrigins: readonly string[];
  readonly sessionCache: { readonly ttlSeconds: number; readonly maxEntries: number };
  /** Signed-in sessions: ended after `idleSeconds` unused, and after `absoluteSeconds` whatever happens. */
  readonly sessions: { readonly idleSeconds: number; readonly absoluteSeconds: number };
  /** Addresses (or CIDR ranges) of reverse proxies whose X-Forwarded-For is believed; empty trusts none. */
  readonly trustProxy: readonly string[];
  readonly loginLimits: { readonly perAccount: number; readonly perClient: number; readonly windowSeconds: number };
  readonly passwordHashing: {
    readonly memoryKib: number;
    readonly timeCost: number;
    readonly parallelism: number;
    /** How many hashes may run at once; 0 means all cores but one. */
    readonly concurrency: number;
  };
  /** The service's public origin (scheme, host, port): SIWE domain, WebAuthn origin, OIDC redirects, JWT issuer. */
  readonly publicOrigin: string;
  readonly signIn: {
    readonly challengeTtlSeconds: number;
    readonly challengeLimit: { readonly perClient: number; readonly windowSeconds: number };
    readonly webauthn: { readonly rpId: string; readonly rpName: string };
    readonly siweChainIds: readonly number[];
    readonly oidcProviders: readonly OidcProviderConfig[];
    readonly email: {
      /** Absent: messages go to `<dataDir>/mail` (outside production only). */
      readonly smtpUrl: string | undefined;
      readonly from: string;
      readonly sendsPerRecipient: number;
      readonly sendWindowSeconds: number;
    };
    readonly stepUpWindowSeconds: number;
  };
  readonly tokens: { readonly accessTtlSeconds: number; readonly signingKeyRotationSeconds: number };
  /** How often the in-process purge task runs; 0 leaves purging to `npm run purge` (cron). */
  readonly purgeIntervalSeconds: number;
  /** Pruning of rows done with: how often (0: only the `prune` command) and how long each kind is kept. */
  readonly retention: { readonly intervalSeconds: number; readonly eventSeconds: number; readonly expiredSeconds: number };
  /** How often tables get autovacuum's statistics and vacuuming where autovacuum does not run; 0 never. */
  readonly tableMaintenanceIntervalSeconds: number;
  /** The sweep of orphaned territory rows: how often (0: never in process), and how old a row must be. */
  readonly orphanSweep: { readonly intervalSeconds: number; readonly graceSeconds: number };
  readonly events: {
    readonly natsUrl: string | undefined;
    readonly natsSubjectPrefix: string;
    readonly relayIntervalMs: number;
    /** Webhook requests: answer timeout, attempts before giving up, first retry pause (doubling, capped at an hour). */
    readonly webhooks: { readonly timeoutMs: number; readonly maxAttempts: number; readonly retryBaseMs: number };
  };
  readonly federation: {
    /** Territory code → PostgreSQL URL of the server holding its schema. */
    readonly territoryDatabaseUrls: Readonly<Record<string, string>>;
    readonly lookupLimit: { readonly perClient: number; readonly windowSeconds: number };
    readonly identityCacheTtlSeconds: number;
  };
  readonly secrets: Secrets;
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
    EMAIL_KEYS: parsed.EMAIL_KEYS,
  };
  const allGiven = SECRET_NAMES.every((name) => given[name]);
  const raw =
    parsed.NODE_ENV === 'production' || allGiven
      ? requireAll(given, parsed.NODE_ENV)
      : { ...loadDevelopmentSecrets(dataDir), ...defined(given) };
  const publicOrigin = parsed.PUBLIC_ORIGIN || `http://localhost:${parsed.PORT}`;
  return Object.freeze({
    environment: parsed.NODE_ENV,
    host: parsed.HOST,
    port: parsed.PORT,
    dataDir,
    databaseUrl: parsed.DATABASE_URL,
    redisUrl: parsed.REDIS_URL,
    logLevel: parsed.LOG_LEVEL,
    accessLog: Object.freeze({ mode: parsed.ACCESS_LOG, slowMs: parsed.ACCESS_LOG_SLOW_MS }),
    bodyLimitBytes: parsed.BODY_LIMIT_BYTES,
    allowedOrigins: Object.freeze(splitList(parsed.ALLOWED_ORIGINS)),
    sessionCache: Object.freeze({
      ttlSeconds: parsed.SESSION_CACHE_TTL_SECONDS,
      maxEntries: parsed.SESSION_CACHE_MAX_ENTRIES,
    }),
    sessions: Object.freeze({
      idleSeconds: parsed.SESSION_IDLE_TIMEOUT_SECONDS,
      absoluteSeconds: parsed.SESSION_ABSOLUTE_TIMEOUT_SECONDS,
    }),
    trustProxy: Object.freeze(splitList(parsed.TRUST_PROXY)),
    loginLimits: Object.freeze({
      perAccount: parsed.LOGIN_ATTEMPTS_PER_ACCOUNT,
      perClient: parsed.LOGIN_ATTEMPTS_PER_CLIENT,
      windowSeconds: parsed.LOGIN_ATTEMPT_WINDOW_SECONDS,
    }),
    passwordHashing: Object.freeze({
      memoryKib: parsed.PASSWORD_MEMORY_KIB,
      timeCost: parsed.PASSWORD_TIME_COST,
      parallelism: parsed.PASSWORD_PARALLELISM,
      concurrency: parsed.PASSWORD_HASHING_CONCURRENCY,
    }),
    publicOrigin,
    signIn: Object.freeze({
      challengeTtlSeconds: parsed.CHALLENGE_TTL_SECONDS,
      challengeLimit: Object.freeze({ perClient: parsed.CHALLENGES_PER_CLIENT, windowSeconds: parsed.CHALLENGE_WINDOW_SECONDS }),
      webauthn: Object.freeze({ rpId: parsed.WEBAUTHN_RP_ID || new URL(publicOrigin).hostname, rpName: parsed.WEBAUTHN_RP_NAME }),
      siweChainIds: Object.freeze(splitList(parsed.SIWE_CHAIN_IDS).map(Number)),
      oidcProviders: parseOidcProviders(parsed.OIDC_PROVIDERS),
      email: Object.freeze({
        smtpUrl: parsed.SMTP_URL,
        from: parsed.EMAIL_FROM,
        sendsPerRecipient: parsed.EMAIL_CODE_SENDS_PER_RECIPIENT,
        sendWindowSeconds: parsed.EMAIL_CODE_SEND_WINDOW_SECONDS,
      }),
      stepUpWindowSeconds: parsed.STEP_UP_WINDOW_SECONDS,
    }),
    tokens: Object.freeze({
      accessTtlSeconds: parsed.ACCESS_TOKEN_TTL_SECONDS,
      signingKeyRotationSeconds: parsed.SIGNING_KEY_ROTATION_SECONDS,
    }),
    purgeIntervalSeconds: parsed.PURGE_INTERVAL_SECONDS,
    tableMaintenanceIntervalSeconds: parsed.TABLE_MAINTENANCE_INTERVAL_SECONDS,
    orphanSweep: Object.freeze({ intervalSeconds: parsed.ORPHAN_SWEEP_INTERVAL_SECONDS, graceSeconds: parsed.ORPHAN_GRACE_SECONDS }),
    retention: Object.freeze({
      intervalSeconds: parsed.PRUNE_INTERVAL_SECONDS,
      eventSeconds: parsed.EVENT_RETENTION_SECONDS,
      expiredSeconds: parsed.EXPIRED_RETENTION_SECONDS,
    }),
    events: Object.freeze({
      natsUrl: parsed.NATS_URL,
      natsSubjectPrefix: parsed.NATS_SUBJECT_PREFIX,
      relayIntervalMs: parsed.EVENT_RELAY_INTERVAL_MS,
      webhooks: Object.freeze({
        timeoutMs: parsed.WEBHOOK_TIMEOUT_MS,
        maxAttempts: parsed.WEBHOOK_MAX_ATTEMPTS,
        retryBaseMs: parsed.WEBHOOK_RETRY_BASE_MS,
      }),
    }),
    federation: Object.freeze({
      territoryDatabaseUrls: parseTerritoryDatabaseUrls(parsed.TERRITORY_DATABASE_URLS),
      lookupLimit: Object.freeze({ perClient: parsed.LOOKUPS_PER_CLIENT, windowSeconds: parsed.LOOKUP_WINDOW_SECONDS }),
      identityCacheTtlSeconds: parsed.IDENTITY_CACHE_TTL_SECONDS,
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

function defined<T extends object>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Partial<T>;
}

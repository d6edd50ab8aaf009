import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { InvalidationBus } from '../../src/cache/invalidation-bus.js';
import { openInvalidationBus } from '../../src/cache/open-invalidation-bus.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/http/logger.js';
import { openTestDatabase, type TestDatabase } from './database.js';
import { sharedSchemaCompilers } from './schema-compilers.js';

export const redisUrl = process.env.REDIS_URL || undefined;

export const randomSecret = () => randomBytes(32).toString('base64url');

/** A complete environment with fresh secrets, as an operator would give in production. */
export function testEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    // Every request's line (the service's default logs only slow and failed ones), so the tests that
    // search the logs for leaked data see every line a request can write.
    ACCESS_LOG: 'all',
    COOKIE_SECRETS: randomSecret(),
    TOKEN_HASH_KEY: randomSecret(),
    PSEUDONYM_KEYS: `k1:${randomSecret()}`,
    ADMIN_TOKEN: randomSecret(),
    EMAIL_KEYS: `k1:${randomSecret()}`,
    // Every injected request comes from 127.0.0.1: the per-client ceremony limit would be one
    // shared budget for a whole file. Tests of that limit set their own.
    CHALLENGES_PER_CLIENT: '100000',
    ...overrides,
  };
}

export interface TestApp {
  readonly app: FastifyInstance;
  /**
   * This node's invalidation bus, chosen as the service chooses it: Redis, else PostgreSQL's, else
   * in memory (shared by the nodes of one embedded database).
   */
  readonly invalidation: InvalidationBus;
  readonly config: Config;
  readonly database: TestDatabase;
  /** Every log line the app wrote, as raw JSON text. */
  readonly logs: string[];
  readonly adminHeaders: { authorization: string };
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly env?: Record<string, string>;
  readonly clock?: Clock;
  /** Share a database (a second node of the same service). */
  readonly database?: TestDatabase;
  /** Use Redis for invalidation (needs REDIS_URL). */
  readonly redis?: boolean;
  /** This bus instead of the one the service would choose (closed with the app). */
  readonly invalidation?: InvalidationBus;
}

const memoryBuses = new WeakMap<TestDatabase, InvalidationBus>();

/** Builds the real app on a fresh database, with logs captured for inspection. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig(testEnvironment(options.env));
  const database = options.database ?? (await openTestDatabase());
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const redis = options.redis && redisUrl ? redisUrl : undefined;
  // Without Redis, nodes sharing an embedded database share one in-memory bus, as the nodes of one
  // deployment share their Redis or PostgreSQL: a second node must hear the first's invalidations,
  // or it models no deployment. On PostgreSQL each node opens its own bus, as a process would.
  const inMemory = !redis && !database.url;
  const shared = options.database && inMemory && !options.invalidation ? memoryBuses.get(options.database) : undefined;
  const invalidation: InvalidationBus =
    options.invalidation ?? shared ?? (await openInvalidationBus({ redisUrl: redis, databaseUrl: database.url }, logger));
  if (!options.database && inMemory && !options.invalidation) memoryBuses.set(database, invalidation);
  const app = await buildApp({
    config,
    database,
    logger,
    invalidation,
    schemaController: { compilersFactory: sharedSchemaCompilers },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await app.ready();
  return {
    app,
    invalidation,
    config,
    database,
    logs,
    adminHeaders: { authorization: `Bearer ${config.secrets.adminToken}` },
    close: async () => {
      await app.close();
      if (!shared) await invalidation.close();
      if (!options.database) await database.drop();
    },
  };
}

/** A browser: keeps the `anon_id` cookie between requests, as a real one would. */
export class Visitor {
  cookie: string | undefined;

  constructor(private readonly app: FastifyInstance) {}

  async request(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({
      method,
      url,
      ...(payload === undefined ? {} : { payload: payload as object }),
      headers: { ...(this.cookie ? { cookie: `anon_id=${this.cookie}` } : {}), ...headers },
    });
    const issued = response.cookies.find((cookie) => cookie.name === 'anon_id');
    if (issued) this.cookie = issued.value;
    return response;
  }

  /** Starts a guest identity and answers its public session. */
  async start(): Promise<{ persona: { id: string; displayName: string; authorId: string; trustLevel: string } }> {
    const response = await this.request('POST', '/session');
    if (response.statusCode >= 300) throw new Error(`start failed: ${response.statusCode} ${response.body}`);
    return response.json();
  }

  /** The raw cookie value, as an app's backend would forward it. */
  get token(): string {
    if (!this.cookie) throw new Error('no cookie yet');
    return decodeURIComponent(this.cookie);
  }
}

/** Registers an app and answers its id and API key. */
export async function registerApp(test: TestApp, name = 'board'): Promise<{ id: string; apiKey: string }> {
  const response = await test.app.inject({ method: 'POST', url: '/admin/apps', headers: test.adminHeaders, payload: { name } });
  if (response.statusCode !== 201) throw new Error(`app registration failed: ${response.body}`);
  const body = response.json();
  return { id: body.app.id, apiKey: body.apiKey };
}

/** The ticket a visitor's browser gets to introduce itself to one app. */
export async function ticketFor(visitor: Visitor, appId: string): Promise<string> {
  const response = await visitor.request('POST', '/session/app-ticket', { appId });
  if (response.statusCode !== 201) throw new Error(`ticket failed: ${response.statusCode} ${response.body}`);
  return response.json().ticket;
}

/** An app's server resolving a ticket, as sent: no checks, for negative cases. */
export async function resolveTicket(test: TestApp, apiKey: string, ticket: string, start = false) {
  return test.app.inject({
    method: 'POST',
    url: '/apps/resolve',
    headers: { authorization: `Bearer ${apiKey}` },
    payload: { ticket, start },
  });
}

/** The whole introduction: the visitor gets a ticket for the app, and the app resolves it. */
export async function resolveForApp(
  test: TestApp,
  app: { readonly id: string; readonly apiKey: string },
  visitor: Visitor,
  start = false,
) {
  return resolveTicket(test, app.apiKey, await ticketFor(visitor, app.id), start);
}

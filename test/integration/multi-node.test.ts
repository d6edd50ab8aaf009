import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import { openDatabase } from '../../src/db/database.js';
import { openTestDatabase, postgresUrl, type TestDatabase } from '../support/database.js';
import { bumpIdentityGeneration, personWithHandle } from '../support/identities.js';
import {
  redisUrl,
  registerApp,
  resolveForApp,
  resolveTicket,
  startTestApp,
  testEnvironment,
  ticketFor,
  Visitor,
  type TestApp,
} from '../support/app.js';

interface Cluster {
  readonly a: TestApp;
  readonly b: TestApp;
  close(): Promise<void>;
}

/**
 * One database for the whole file (PGlite takes seconds to start). On PostgreSQL node B gets its
 * own connection pool, as a separate process would; PGlite is in-process, so both share its handle.
 */
let database: TestDatabase;
let second: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
  second = database.url
    ? { ...openDatabase({ url: database.url, poolSize: 5 }), url: database.url, drop: async () => undefined }
    : database;
});
afterAll(async () => {
  if (second !== database) await second.close();
  await database.drop();
});

/**
 * Two nodes of one service: the same secrets, the same database. The bus: Redis, the one the service
 * chooses without Redis (PostgreSQL's on a server), or `deaf`: each node its own in-memory bus.
 */
async function startCluster(bus: 'redis' | 'chosen' | 'deaf'): Promise<Cluster> {
  // A long TTL, so a GET /session that shows a ban can only have learned it from an invalidation.
  const env = testEnvironment({ SESSION_CACHE_TTL_SECONDS: '3600', IDENTITY_CACHE_TTL_SECONDS: '60' });
  const redis = bus === 'redis';
  const own = () => (bus === 'deaf' ? { invalidation: createMemoryInvalidationBus() } : {});
  const a = await startTestApp({ env, database, redis, ...own() });
  const b = await startTestApp({ env, database: second, redis, ...own() });
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

const banVia = (node: TestApp, personaId: string, lift = false) =>
  node.app.inject({
    method: 'POST',
    url: lift ? '/admin/bans/lift' : '/admin/bans',
    headers: node.adminHeaders,
    payload: lift ? { subject: { personaId } } : { subject: { personaId }, reason: 'spam' },
  });

const bannedOn = async (visitor: Visitor) => {
  const body = (await visitor.request('GET', '/session')).json();
  expect(body.started).toBe(true);
  return body.banned as boolean;
};

/** A state-changing request; 403 BANNED when the person is banned. */
const act = (visitor: Visitor) => visitor.request('POST', '/session');

/** Milliseconds until `check` holds, polling; Infinity if it never did within the limit. */
async function timeUntil(check: () => Promise<boolean>, limitMs = 2000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if (await check()) return performance.now() - started;
    await sleep(5);
  }
  return Number.POSITIVE_INFINITY;
}

/** A visitor started on node A, the same cookie used on node B, with B's cache warmed. */
async function visitorOnBothNodes(cluster: Cluster) {
  const onA = new Visitor(cluster.a.app);
  const { persona } = await onA.start();
  const onB = new Visitor(cluster.b.app);
  onB.cookie = onA.cookie;
  for (let i = 0; i < 2; i++) expect(await bannedOn(onB)).toBe(false);
  return { onA, onB, persona };
}

// What a node that hears no other node's invalidations still guarantees (as two nodes on a
// PostgreSQL-compatible database without LISTEN, and no Redis, are deployed).
describe('two nodes that hear no invalidation (each its own in-memory bus)', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster('deaf');
  });
  afterAll(() => cluster.close());

  it('know the same visitor: a cookie from node A is the same identity on node B', async () => {
    const { onA, onB, persona } = await visitorOnBothNodes(cluster);
    expect((await onB.request('GET', '/session')).json().persona).toEqual(persona);
    expect(onB.cookie).toBe(onA.cookie);
  });

  it('refuse a banned person\'s changes on node B at once; only B\'s cached GET /session stays stale', async () => {
    const { onA, onB, persona } = await visitorOnBothNodes(cluster);
    expect((await banVia(cluster.a, persona.id)).statusCode).toBe(200);

    // Node A published to itself only: its own view is current, node B's cache is not.
    expect(await bannedOn(onA)).toBe(true);
    expect(await bannedOn(onB)).toBe(false);

    // Node B's state-changing path and app lookups read the database: the ban holds there at once.
    const refused = await act(onB);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('BANNED');
    const app = await registerApp(cluster.b, 'board');
    expect((await resolveForApp(cluster.b, app, onB)).json().banned).toBe(true);
    // A ticket is not tied to the node that issued it: one from node A resolves on node B.
    expect((await resolveTicket(cluster.b, app.apiKey, await ticketFor(onA, app.id))).json().banned).toBe(true);

    // The refused change's fresh read also refreshed node B's cache entry, so its GET /session now shows the ban.
    expect(await bannedOn(onB)).toBe(true);
  });
});

describe.runIf(redisUrl)('two nodes sharing Redis', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster('redis');
  });
  afterAll(() => cluster.close());

  it('drop node B\'s cached session within a second of a ban placed on node A', async ({ annotate }) => {
    const { onB, persona } = await visitorOnBothNodes(cluster);
    expect((await banVia(cluster.a, persona.id)).statusCode).toBe(200);

    // Only GET /session on B in between: nothing but the invalidation can refresh its cache.
    const elapsed = await timeUntil(() => bannedOn(onB));
    await annotate(`ban reached node B's GET /session after ${elapsed.toFixed(1)} ms`);
    expect(elapsed).toBeLessThan(1000);
    expect((await act(onB)).statusCode).toBe(403);

    // And the lift travels the same way.
    expect((await banVia(cluster.a, persona.id, true)).statusCode).toBe(200);
    const liftElapsed = await timeUntil(async () => !(await bannedOn(onB)));
    await annotate(`lift reached node B's GET /session after ${liftElapsed.toFixed(1)} ms`);
    expect(liftElapsed).toBeLessThan(1000);
  });

  it('refuse a change on node B on the very next request after a ban on node A', async () => {
    const { onB, persona } = await visitorOnBothNodes(cluster);
    expect((await banVia(cluster.a, persona.id)).statusCode).toBe(200);
    const refused = await act(onB);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({ code: 'BANNED', message: expect.any(String), correlationId: refused.headers['x-correlation-id'] });

    // Lifted on A: B lets the person act again on the very next request.
    expect((await banVia(cluster.a, persona.id, true)).statusCode).toBe(200);
    expect((await act(onB)).statusCode).toBe(200);
  });
});

describe.runIf(postgresUrl)('two nodes on PostgreSQL, no Redis (the PostgreSQL bus)', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster('chosen');
  });
  afterAll(() => cluster.close());

  const identity = (node: TestApp, handle: string) => node.app.inject({ method: 'GET', url: `/identities/${handle}` });

  it('show a ban (and its lift) placed on node A on node B\'s very next GET /session, 50 times in a row', async () => {
    expect(cluster.b.invalidation.confirmsAcrossNodes).toBe(true);
    const { onB, persona } = await visitorOnBothNodes(cluster);
    const stale: string[] = [];
    for (let round = 0; round < 50; round++) {
      // Each GET /session on B in between refills its cache: only an invalidation can make the next one fresh.
      expect((await banVia(cluster.a, persona.id)).statusCode).toBe(200);
      if (!(await bannedOn(onB))) stale.push(`ban ${round}`);
      expect((await banVia(cluster.a, persona.id, true)).statusCode).toBe(200);
      if (await bannedOn(onB)) stale.push(`lift ${round}`);
    }
    expect(stale).toEqual([]);
  });

  it('answer GET /identities/{handle} on node B from its cache, and never from before a change made on node A', async () => {
    const { visitor, personaId } = await personWithHandle(cluster.a, 'pgbus_rounds');
    const nameOnB = async () => (await identity(cluster.b, 'pgbus_rounds')).json().identity.displayName as string;
    // The cache is on: a rename written behind the API's back shows on B only after a bump on A.
    const before = await nameOnB();
    await cluster.a.database.db.updateTable('personas').set({ display_name: 'Behind' }).where('id', '=', personaId).execute();
    expect(await nameOnB()).toBe(before);
    await bumpIdentityGeneration(cluster.a);
    expect(await nameOnB()).toBe('Behind');

    // And strict: B caches the live identity, A deactivates it, B's next lookup already misses.
    const stale: number[] = [];
    for (let round = 0; round < 25; round++) {
      expect((await visitor.request('POST', `/personas/${personaId}/reactivate`)).statusCode).toBeLessThan(300);
      expect((await identity(cluster.b, 'pgbus_rounds')).statusCode).toBe(200);
      expect((await visitor.request('POST', `/personas/${personaId}/deactivate`)).statusCode).toBeLessThan(300);
      if ((await identity(cluster.b, 'pgbus_rounds')).statusCode !== 404) stale.push(round);
    }
    expect(stale).toEqual([]);
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
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

/** Two nodes of one service: the same secrets, the same database. */
async function startCluster(redis: boolean): Promise<Cluster> {
  // A long TTL, so a GET /session that shows a ban can only have learned it from an invalidation.
  const env = testEnvironment({ SESSION_CACHE_TTL_SECONDS: '3600' });
  const a = await startTestApp({ env, database, redis });
  const b = await startTestApp({ env, database: second, redis });
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

describe('two nodes, no Redis (in-process invalidation only)', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(false);
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
    cluster = await startCluster(true);
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

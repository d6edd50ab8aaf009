import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamNameFor } from '../../src/events/nats-sink.js';
import { GOOD_PASSWORD } from '../support/browser.js';
import { CHECKS_APPLICATION, startCluster, within, type Cluster } from '../support/cluster.js';
import { inconsistencies, tally } from '../support/consistency.js';
import { postgresUrl } from '../support/database.js';
import { HttpVisitor, isTypedError, type HttpAnswer } from '../support/http-visitor.js';
import { idsInStream } from '../support/nats-stream.js';
import type { ServiceNode } from '../support/service-process.js';
import { writeBurst } from '../support/write-burst.js';

/**
 * Three processes of the service on one PostgreSQL, Redis and NATS, as a deployment behind a load
 * balancer runs them: what one node does, every node honours on the next request. Then the same
 * nodes through faults: PostgreSQL connections terminated mid-burst, Redis and NATS killed and
 * restarted (servers of this file's own: the machine's are shared with other tests). One set of
 * processes for the whole file keeps its cost to one start.
 */
describe.skipIf(!postgresUrl)('three nodes (services suite: needs DATABASE_URL; Redis and NATS are started here)', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(3);
  }, 180_000);
  afterAll(() => cluster?.close(), 60_000);

  const nodes = () => cluster.nodes;
  const node = (i: number) => cluster.nodes[i % cluster.nodes.length] as ServiceNode;
  const personaOf = (answer: HttpAnswer) => (answer.body?.persona as { id: string } | null)?.id;
  const newPerson = (tag: string) => {
    const unique = randomBytes(6).toString('hex');
    return { email: `${tag}.${unique}@example.org`, password: GOOD_PASSWORD, initialDisplayName: `${tag} ${unique}` };
  };

  /** A guest started on one node, with every node's cache holding its session (the first read caches it). */
  async function guestCachedEverywhere(startOn: number): Promise<{ visitor: HttpVisitor; personaId: string }> {
    const visitor = new HttpVisitor();
    const started = await visitor.request(node(startOn).base, 'POST', '/session');
    expect(started.status, started.text).toBe(201);
    for (const each of nodes()) expect((await visitor.request(each.base, 'GET', '/session')).body?.banned).toBe(false);
    return { visitor, personaId: personaOf(started) as string };
  }

  describe('on one PostgreSQL, Redis and NATS', () => {
    it('a ban placed on one node holds on the very next GET /session on every node: 200 tries, zero stale', async ({ annotate }) => {
      const TRIES = 200;
      let stale = 0;
      let next = 0;
      const worker = async () => {
        while (next < TRIES) {
          const i = next++;
          const { visitor, personaId } = await guestCachedEverywhere(i);
          const placed = await cluster.ban(node(i + 1), personaId);
          expect(placed.status, placed.text).toBe(200);
          // The next request on each node, no pause: a cached "not banned" here is a stale answer.
          const seen = await Promise.all(nodes().map((each) => visitor.request(each.base, 'GET', '/session')));
          stale += seen.filter((answer) => answer.body?.banned !== true).length;
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      await annotate(`${TRIES} bans, ${TRIES * nodes().length} next-request reads across the nodes, ${stale} stale`);
      expect(stale).toBe(0);
    }, 120_000);

    it('a sign-out on one node ends the session on the very next request on every node', async () => {
      const person = newPerson('signout');
      const registered = await new HttpVisitor().request(node(0).base, 'POST', '/auth/register', person);
      expect(registered.status, registered.text).toBe(201);
      let stale = 0;
      for (let i = 0; i < 12; i++) {
        const browser = new HttpVisitor();
        const login = await browser.request(node(i).base, 'POST', '/auth/login', { email: person.email, password: person.password });
        expect(login.status, login.text).toBe(200);
        for (const each of nodes()) expect((await browser.request(each.base, 'GET', '/session')).body?.anonymous).toBe(false);
        const cookies = new Map(browser.cookies);
        expect((await browser.request(node(i + 1).base, 'POST', '/auth/logout')).status).toBe(200);
        // The old cookie, replayed as a thief would, on every node at once.
        const replays = await Promise.all(
          nodes().map((each) => {
            const thief = new HttpVisitor();
            for (const [name, value] of cookies) thief.cookies.set(name, value);
            return thief.request(each.base, 'GET', '/session');
          }),
        );
        stale += replays.filter((answer) => answer.body?.anonymous === false).length;
      }
      expect(stale).toBe(0);
    }, 120_000);

    it('sign-in limits hold across nodes: wrong passwords spread over the nodes are counted once, together', async () => {
      const person = newPerson('limit');
      expect((await new HttpVisitor().request(node(1).base, 'POST', '/auth/register', person)).status).toBe(201);
      // Twelve wrong passwords at once, four to each node: the per-account limit (5) allows five in all.
      const attempts = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          new HttpVisitor().request(node(i).base, 'POST', '/auth/login', { email: person.email, password: `${GOOD_PASSWORD} wrong ${i}` }),
        ),
      );
      expect(countBy(attempts)).toEqual({ 401: 5, 429: 7 });
      for (const answer of attempts) expect(isTypedError(answer), answer.text).toBe(true);
      // And the right password is refused on every node while the window lasts.
      for (const each of nodes()) {
        const answer = await new HttpVisitor().request(each.base, 'POST', '/auth/login', { email: person.email, password: person.password });
        expect([answer.status, answer.body?.code]).toEqual([429, 'TOO_MANY_ATTEMPTS']);
      }
    }, 60_000);

    it('every outbox event, written by any node, reaches a NATS subscriber with its id', async () => {
      // The relays of all the nodes share the outbox; wait until they have dispatched everything.
      await within(20_000, 'the outbox drained', async () => (await cluster.pendingEvents()) === 0);
      const written = (await cluster.sql.db.selectFrom('outbox').select('id').execute()).map((row) => row.id);
      expect(written.length).toBeGreaterThan(200); // the bans, registrations and sign-ins above
      const received = await idsInStream(cluster.nats.url, streamNameFor(cluster.subjectPrefix));
      expect(written.filter((id) => !received.has(id))).toEqual([]);
    }, 60_000);
  });

  describe('through faults', () => {
    it('pg_terminate_backend during a write burst: typed errors only, nothing half-written, the nodes recover by themselves', async ({ annotate }) => {
      const killer = new pg.Client({ connectionString: cluster.databaseUrl });
      await killer.connect();
      let burning = true;
      let terminated = 0;
      const burst = writeBurst(nodes, () => burning, { workers: 8, adminToken: cluster.adminToken });
      try {
        await delay(1500); // the burst is under way
        for (let round = 0; round < 5; round++) {
          const { rows } = await killer.query<{ n: string }>(
            `select count(*) filter (where pg_terminate_backend(pid)) as n from pg_stat_activity
             where datname = current_database() and pid <> pg_backend_pid() and application_name <> $1`,
            [CHECKS_APPLICATION],
          );
          terminated += Number(rows[0]?.n);
          await delay(400);
        }
        await delay(1000); // writes go on while the pools reconnect
      } finally {
        burning = false;
        await killer.end();
      }
      const { answers, unanswered, acknowledgedGuests } = await burst.done;
      const failed = answers.filter((answer) => answer.status >= 400);
      const codes = [...new Set(failed.map((answer) => `${answer.status} ${String(answer.body?.code)}`))];
      await annotate(`${terminated} connections terminated; ${answers.length} requests, ${failed.length} failed (${codes.join(', ') || 'none'})`);
      expect(terminated).toBeGreaterThan(0);
      expect(unanswered).toEqual([]); // every request got an HTTP answer: no node crashed or dropped a connection
      for (const answer of failed) {
        expect(isTypedError(answer), `${answer.status} ${answer.text}`).toBe(true);
        // A lost connection is named for what it is: try again, not a bug.
        expect(`${answer.status} ${String(answer.body?.code)}`).toBe('503 SERVICE_UNAVAILABLE');
      }

      // Each node serves again on its own: its pool replaces the dead connections.
      for (const each of nodes()) {
        const ms = await within(10_000, `${each.name} creating guests again`, async () => (await new HttpVisitor().request(each.base, 'POST', '/session')).status === 201);
        await annotate(`${each.name} recovered ${ms} ms after the last termination`);
      }
      expect(await inconsistencies(cluster.sql.db)).toEqual({});
      // What was answered as created was committed.
      for (const { visitor, personaId } of acknowledgedGuests) expect(personaOf(await visitor.request(node(1).base, 'GET', '/session'))).toBe(personaId);
      await annotate(`the database after the burst: ${JSON.stringify(await tally(cluster.sql.db))}`);
    }, 120_000);

    it('Redis down: a ban still reaches GET /session on every node at once (uncached reads), and caching resumes when Redis is back', async ({ annotate }) => {
      const [a, b] = [node(0), node(1)];
      const { visitor, personaId } = await guestCachedEverywhere(0);

      await cluster.kill('redis');
      const placedAt = Date.now();
      const placed = await cluster.ban(a, personaId);
      await annotate(`a ban with Redis down answered ${placed.status} in ${Date.now() - placedAt} ms`);
      expect(placed.status, placed.text).toBe(200);
      // The other nodes heard nothing (pub/sub is down), and their caches would hold "not banned" for an hour.
      for (const each of nodes()) expect((await visitor.request(each.base, 'GET', '/session')).body?.banned, each.name).toBe(true);

      // Other requests go on: guests start; sign-in, whose counters are in Redis, fails typed and retryable.
      expect((await new HttpVisitor().request(b.base, 'POST', '/session')).status).toBe(201);
      const login = await new HttpVisitor().request(b.base, 'POST', '/auth/login', { email: 'nobody@example.org', password: 'not the password at all' });
      expect(isTypedError(login), login.text).toBe(true);
      expect([login.status, login.body?.code, login.correlationHeader !== null]).toEqual([503, 'SERVICE_UNAVAILABLE', true]);

      await cluster.restart('redis');
      const probe = new Redis(cluster.redis.url);
      try {
        const ms = await within(15_000, 'every node resubscribed', async () => {
          const [, count] = (await probe.pubsub('NUMSUB', 'personae:invalidate:v2')) as [string, number];
          return count >= nodes().length;
        });
        await annotate(`the nodes resubscribed ${ms} ms after Redis came back`);
      } finally {
        probe.disconnect();
      }
      // With Redis back, invalidations travel again: a lift on B reaches the others' cached GET /session.
      for (const each of nodes()) await visitor.request(each.base, 'GET', '/session'); // cache it everywhere
      expect((await cluster.ban(b, personaId, true)).status).toBe(200);
      for (const each of nodes()) expect((await visitor.request(each.base, 'GET', '/session')).body?.banned, each.name).toBe(false);
    }, 90_000);

    it('NATS down: requests go on, the outbox accumulates, and drains into the stream once NATS is back', async ({ annotate }) => {
      await within(15_000, 'the outbox drained before NATS goes down', async () => (await cluster.pendingEvents()) === 0);
      await cluster.kill('nats');

      const guests = await Promise.all(Array.from({ length: 10 }, (_, i) => new HttpVisitor().request(node(i).base, 'POST', '/session')));
      const answers = await Promise.all(guests.map((guest, i) => cluster.ban(node(i + 1), personaOf(guest) as string)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
      await delay(1000);
      const accumulated = await cluster.pendingEvents();
      await annotate(`${accumulated} events waiting in the outbox while NATS is down`);
      expect(accumulated).toBeGreaterThanOrEqual(10);

      await cluster.restart('nats');
      const ms = await within(30_000, 'the outbox drained after NATS came back', async () => (await cluster.pendingEvents()) === 0);
      await annotate(`the outbox drained ${ms} ms after NATS came back`);
      const written = (await cluster.sql.db.selectFrom('outbox').select('id').execute()).map((row) => row.id);
      const received = await idsInStream(cluster.nats.url, streamNameFor(cluster.subjectPrefix));
      expect(written.filter((id) => !received.has(id))).toEqual([]);
    }, 90_000);
  });
});

function countBy(answers: readonly HttpAnswer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const answer of answers) counts[answer.status] = (counts[answer.status] ?? 0) + 1;
  return counts;
}

import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Invalidation, InvalidationBus } from '../../src/cache/invalidation-bus.js';
import { createPostgresInvalidationBus } from '../../src/cache/postgres-invalidation-bus.js';
import { within } from '../support/cluster.js';
import { createEmptyPostgresDatabase, postgresUrl } from '../support/database.js';

/**
 * The PostgreSQL invalidation bus (LISTEN/NOTIFY) on the real server, in a database of this file's
 * own: the nodes that must confirm are the listening connections of the same database.
 */
describe.runIf(postgresUrl)('the PostgreSQL invalidation bus', () => {
  let database: Awaited<ReturnType<typeof createEmptyPostgresDatabase>>;
  let sql: pg.Client;
  const buses: InvalidationBus[] = [];
  beforeAll(async () => {
    database = await createEmptyPostgresDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });
  afterAll(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
    await sql?.end();
    await database?.drop();
  });

  async function bus(options: Parameters<typeof createPostgresInvalidationBus>[1] = {}) {
    const created = await createPostgresInvalidationBus(database.url, options);
    buses.push(created);
    const heard: Invalidation[] = [];
    created.subscribe((invalidation) => heard.push(invalidation));
    return { bus: created, heard };
  }

  const listenerPids = async () =>
    (await sql.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and application_name like 'personae-bus:%'`)).rows.map((row) => row.pid);

  it('returns from a publish only once every other node has run its listeners', async () => {
    const a = await bus();
    const b = await bus();
    const c = await bus();
    expect(a.bus.confirmsAcrossNodes).toBe(true);
    for (const node of [a, b, c]) node.heard.length = 0;
    for (let i = 0; i < 20; i++) {
      expect(await a.bus.publish({ kind: 'profile', id: `p${i}` })).toBe(true);
      expect(b.heard.at(-1)).toEqual({ kind: 'profile', id: `p${i}` });
      expect(c.heard.at(-1)).toEqual({ kind: 'profile', id: `p${i}` });
    }
    await b.bus.publish({ kind: 'identities' });
    expect(a.heard.at(-1)).toEqual({ kind: 'identities' });
    expect(a.heard).toHaveLength(21); // its own at once, and once
    await Promise.all([a.bus.close(), b.bus.close(), c.bus.close()]);
  });

  it('waits for a listening node that never confirms only up to its timeout, and reports it', async () => {
    const errors: unknown[] = [];
    const a = await bus({ ackTimeoutMs: 300, onError: (error) => errors.push(error) });
    // A node that listens and says so, but does not confirm (stuck, or broken).
    const silent = new pg.Client({ connectionString: database.url });
    await silent.connect();
    try {
      await silent.query('listen personae_invalidate');
      await silent.query(`select set_config('application_name', $1, false)`, [`personae-bus:${randomBytes(16).toString('hex')}`]);
      const started = Date.now();
      expect(await a.bus.publish({ kind: 'profile', id: 'p2' })).toBe(false);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(String(errors[0])).toMatch(/1 of 1 other nodes did not confirm/);
    } finally {
      await silent.end();
    }
    // Gone from pg_stat_activity with its connection: no longer waited for.
    const started = Date.now();
    expect(await a.bus.publish({ kind: 'profile', id: 'p3' })).toBe(true);
    expect(Date.now() - started).toBeLessThan(250);
    expect(errors).toHaveLength(1);
    await a.bus.close();
  });

  it('stops listening when its connection is terminated, and resumes with everything dropped once LISTEN holds again', async () => {
    const before = new Set(await listenerPids());
    const a = await bus();
    const [pid] = (await listenerPids()).filter((candidate) => !before.has(candidate));
    const b = await bus();
    expect(a.bus.isListening()).toBe(true);
    a.heard.length = 0;
    await sql.query('select pg_terminate_backend($1)', [pid]);
    // Polled closely: the bus is back within about its first backoff (100 ms).
    const noticed = Date.now();
    while (a.bus.isListening() && Date.now() - noticed < 5000) await delay(2);
    expect(a.bus.isListening()).toBe(false);
    await within(10_000, 'the bus listens again', async () => a.bus.isListening());
    expect(a.heard).toEqual([{ kind: 'all' }]);
    // And hears (and confirms) the others' messages again, on its new connection.
    await b.bus.publish({ kind: 'profile', id: 'p4' });
    expect(a.heard).toEqual([{ kind: 'all' }, { kind: 'profile', id: 'p4' }]);
    await Promise.all([a.bus.close(), b.bus.close()]);
  });
});

import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { postgresUrl } from '../support/database.js';

/**
 * The embedded database runs on the request thread: a job of many queries must let the requests
 * that arrive meanwhile in between its queries, not only after its last (issue 12's soak).
 */
let database: DatabaseHandle | undefined;
afterAll(() => database?.close());

// Embedded only: a server's driver waits on the network, which gives the event loop its turns anyway.
describe.skipIf(postgresUrl)('the embedded database', () => {
  it('gives the event loop a turn after each query, in a transaction too', async () => {
    database = openDatabase({ dataDir: 'memory' });
    const order: string[] = [];
    setImmediate(() => order.push('a request'));
    for (let query = 1; query <= 3; query++) {
      await sql`select pg_sleep(0.005)`.execute(database.db);
      order.push(`query ${query}`);
    }
    expect(order).toEqual(['a request', 'query 1', 'query 2', 'query 3']);

    order.length = 0;
    await database.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      setImmediate(() => order.push('a request'));
      await sql`select 2`.execute(trx);
      order.push('transaction done');
    });
    expect(order).toEqual(['a request', 'transaction done']);
  });
});

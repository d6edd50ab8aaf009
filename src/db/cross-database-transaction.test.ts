import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { afterCommit, crossDatabaseTransaction, undoIfAborted, type RunTransaction } from './cross-database-transaction.js';

/** The connection dropped before COMMIT's answer came: no SQLSTATE, as node-postgres reports it. */
const connectionLost = () => Object.assign(new Error('Connection terminated unexpectedly'), { code: undefined });

/** Commits for real, then reports the answer lost. */
const commitsThenLosesTheAnswer: RunTransaction = async (db, work) => {
  await db.transaction().execute(work);
  throw connectionLost();
};

/** Rolls back for real (the server aborted), then reports the connection lost. */
const abortsThenLosesTheAnswer: RunTransaction = async (db, work) => {
  await db
    .transaction()
    .execute(async (trx) => {
      await work(trx);
      throw new Error('rolled back');
    })
    .catch(() => undefined);
  throw connectionLost();
};

/** The server refuses the COMMIT (a deferred check, say): an error with an SQLSTATE. */
const commitRefused: RunTransaction = async () => {
  throw Object.assign(new Error('deferred check failed'), { code: '23514', severity: 'ERROR' });
};

describe('a cross-database transaction whose COMMIT answer is lost', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase({ poolSize: 2 });
  });
  afterAll(() => database?.drop());

  /** Work that stands for a remote write: it records whether it was taken back, and what ran after commit. */
  function remoteWrite() {
    const seen = { undone: false, afterCommit: false };
    const work = async (trx: Parameters<Parameters<typeof crossDatabaseTransaction>[1]>[0]) => {
      await sql`select 1`.execute(trx);
      undoIfAborted(trx, async () => {
        seen.undone = true;
      });
      await afterCommit(trx, async () => {
        seen.afterCommit = true;
      });
      return 'done';
    };
    return { seen, work };
  }

  it('succeeds, without taking the remote write back, when the transaction did commit', async () => {
    const { seen, work } = remoteWrite();
    await expect(crossDatabaseTransaction(database.db, work, commitsThenLosesTheAnswer)).resolves.toBe('done');
    expect(seen).toEqual({ undone: false, afterCommit: true });
  });

  it('takes the remote write back when the transaction is found aborted', async () => {
    const { seen, work } = remoteWrite();
    await expect(crossDatabaseTransaction(database.db, work, abortsThenLosesTheAnswer)).rejects.toThrow(/terminated/);
    expect(seen).toEqual({ undone: true, afterCommit: false });
  });

  it('takes the remote write back when the server refused the COMMIT', async () => {
    const { seen, work } = remoteWrite();
    const run: RunTransaction = async (db, inner) => {
      await db.transaction().execute(async (trx) => {
        await inner(trx);
        throw new Error('rolled back');
      }).catch(() => undefined);
      return commitRefused(db, inner);
    };
    await expect(crossDatabaseTransaction(database.db, work, run)).rejects.toThrow(/deferred check/);
    expect(seen).toEqual({ undone: true, afterCommit: false });
  });
});

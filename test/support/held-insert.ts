import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/**
 * Real concurrency, made deterministic (PostgreSQL only): inserts into `table` stop in a trigger,
 * waiting on an advisory lock this holds, until `release()`. A request is started, seen waiting
 * (`waiters()`), a second one is started against it, and then the first is let go: whether the
 * second waited for the first (a lock) or went straight through is what the test is about.
 */
export interface HeldInsert {
  /** Backends of this database waiting on a lock (the held insert is one). */
  waiters(): Promise<number>;
  release(): Promise<void>;
  /** Drops the trigger and lets go of the lock (idempotent). */
  close(): Promise<void>;
}

let holds = 0;

/** `when`: a trigger condition on `new` (SQL), to hold only some rows, say one event type of the outbox. */
export async function holdInserts(url: string, table: string, when?: string): Promise<HeldInsert> {
  const key = 7400 + ++holds;
  const name = `held_insert_${key}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`select pg_advisory_lock(${key})`);
  await admin.query(`create function ${name}() returns trigger language plpgsql as $$
    begin perform pg_advisory_lock_shared(${key}); perform pg_advisory_unlock_shared(${key}); return new; end; $$`);
  await admin.query(`create trigger ${name} before insert on ${table} for each row ${when ? `when (${when}) ` : ''}execute function ${name}()`);
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await admin.query(`select pg_advisory_unlock(${key})`);
  };
  return {
    async waiters() {
      const result = await admin.query(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
      return result.rows[0].n as number;
    },
    release,
    async close() {
      await release();
      await admin.query(`drop trigger if exists ${name} on ${table}`);
      await admin.query(`drop function if exists ${name}()`);
      await admin.end();
    },
  };
}

/** Polls `condition` until it holds (10 s at most). */
export async function waitFor(condition: () => Promise<boolean> | boolean): Promise<void> {
  for (const started = Date.now(); !(await condition()); await sleep(20)) {
    if (Date.now() - started > 10_000) throw new Error('timed out waiting');
  }
}

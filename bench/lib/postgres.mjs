import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { processCpuMs } from './children.mjs';

/**
 * A fresh, throw-away database on the server behind `adminUrl`: the service migrates it from empty,
 * so no earlier run or test data skews the figures; or, with `template`, a copy of that database
 * (which nobody may be connected to). Answers its name, URL and a `drop()`.
 */
export async function createBenchDatabase(adminUrl, { template } = {}) {
  const name = `personae_bench_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`create database "${name}"${template ? ` template "${template}"` : ''}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      // `with (force)` ends any connection the service left open (PostgreSQL 13+).
      await withClient(adminUrl, (client) => client.query(`drop database if exists "${name}" with (force)`));
    },
  };
}

/**
 * The CPU the PostgreSQL server spends for one database (its backends' user + system time, in ms),
 * when the server runs on this machine: the service's own CPU leaves out the work its queries cause.
 * Backends come and go with the service's pool, so each one's time is summed as last seen; a
 * backend's last second before it exits is lost, which a pool under steady load rarely does.
 * Answers NaN when the backends' /proc entries cannot be read (a server elsewhere).
 */
export async function databaseCpuMeter(adminUrl, databaseName) {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  await client.connect();
  const seen = new Map();
  return {
    async sample() {
      const { rows } = await client.query('select pid from pg_stat_activity where datname = $1', [databaseName]);
      for (const { pid } of rows) {
        const ms = processCpuMs(pid);
        if (!Number.isNaN(ms)) seen.set(pid, ms); // else exited meanwhile, or not on this machine
      }
      let total = 0;
      for (const value of seen.values()) total += value;
      return seen.size === 0 ? Number.NaN : total;
    },
    close: () => client.end().catch(() => undefined),
  };
}

/**
 * What the run did to each table (pg_stat_user_tables): rows live and dead, sequential scans and the
 * rows they read, index scans, and size. A table read by sequential scans that grows with the run is
 * work that grows with the data.
 */
export async function tableStatistics(databaseUrl) {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query(`
      select relname as table, n_live_tup::int as live, n_dead_tup::int as dead, seq_scan::int as seq_scans,
        seq_tup_read::bigint::text as seq_rows_read, coalesce(idx_scan, 0)::bigint::text as index_scans,
        pg_total_relation_size(relid)::bigint / 1024 as kib
      from pg_stat_user_tables order by seq_tup_read desc, n_live_tup desc`);
    return rows;
  });
}

async function withClient(url, work) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The URL without its password, for printing. */
export function redact(databaseUrl) {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable URL)';
  }
}

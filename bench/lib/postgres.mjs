import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A fresh, throw-away database on the server behind `adminUrl`: the service migrates it from empty,
 * so no earlier run or test data skews the figures. Answers its URL and a `drop()`.
 */
export async function createBenchDatabase(adminUrl) {
  const name = `personae_bench_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`create database "${name}"`));
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

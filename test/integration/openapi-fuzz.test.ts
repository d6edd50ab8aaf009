import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { sql, type RawBuilder } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { badRequests, forgedHeaders, shapeValidRequest, type BadRequest, type Operation, type Parameter, type Schema } from '../support/bad-input.js';

/**
 * Walks every operation of the service's own OpenAPI document with generated bad input (fast-check):
 * wrong types, missing fields, strings past their limit, odd unicode, bad path parameters and query
 * strings, text that is not JSON, bodies over the limit, foreign content types; as nobody, a guest,
 * a signed-in member or the operator, at times with forged or malformed cookies, tokens, correlation
 * ids and origins. Never a 5xx, every error a
 * typed body, and the database exactly as it was. Each run sends one case to every operation.
 *
 * Replay a failure with the seed it prints: FUZZ_SEED=<seed> (and FUZZ_RUNS=<n> for a longer walk).
 * No shrinking (endOnFailure): one step would replay a whole walk, and the message already names the
 * failing request.
 */
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const runs = Number(process.env.FUZZ_RUNS ?? 6);

let test: TestApp;
let operations: Operation[];
const credentials: Record<string, Record<string, string>> = {};

type Caller = 'nobody' | 'guest' | 'member' | 'operator';
const CALLERS: readonly Caller[] = ['nobody', 'guest', 'member', 'operator'];

/** The cookies a response set, as one Cookie header. */
const cookieHeader = (response: LightMyRequestResponse) => response.cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');

beforeAll(async () => {
  test = await startTestApp();
  const document = (await test.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, OpenApiOperation>> }>();
  operations = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      parameters: (operation.parameters ?? []) as Parameter[],
      body: operation.requestBody?.content?.['application/json']?.schema,
    })),
  );
  const guest = await test.app.inject({ method: 'POST', url: '/session' });
  const member = await test.app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: 'fuzz-member@example.org', password: 'a long and unusual passphrase 4 fuzz', initialDisplayName: 'Fuzz Member' },
  });
  expect([guest.statusCode, member.statusCode]).toEqual([201, 201]);
  credentials.guest = { cookie: cookieHeader(guest) };
  credentials.member = { cookie: cookieHeader(member) };
  credentials.operator = test.adminHeaders;
  credentials.nobody = {};
  // Events of the set-up are delivered now, so the relay changes nothing while the walk runs.
  await test.app.events.relay.flush();
});
afterAll(() => test.close());

interface OpenApiOperation {
  readonly parameters?: unknown[];
  readonly requestBody?: { readonly content?: Record<string, { readonly schema?: Schema }> };
}

/**
 * Every row of every table (global and territory schemas), as a count and a checksum per table, in
 * one query built once; the list of tables is part of the answer, so a table or schema created by
 * a request shows too. A session's last-seen time is left out: a valid session used by a request
 * may be refreshed.
 */
let snapshotQuery: RawBuilder<{ name: string; state: string }> | undefined;

async function snapshot(db: Db): Promise<Record<string, string>> {
  snapshotQuery ??= await buildSnapshotQuery(db);
  const { rows } = await snapshotQuery.execute(db);
  return Object.fromEntries(rows.map((row) => [row.name, row.state]));
}

async function buildSnapshotQuery(db: Db): Promise<RawBuilder<{ name: string; state: string }>> {
  const { rows } = await sql<{ schema: string; table: string; columns: string[] }>`
    select c.table_schema as schema, c.table_name as table, array_agg(c.column_name::text order by c.ordinal_position) as columns
    from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
    where t.table_type = 'BASE TABLE' and (c.table_schema = 'public' or c.table_schema like 'territory\\_%')
    group by c.table_schema, c.table_name`.execute(db);
  const parts = rows.map(({ schema, table, columns }) => {
    const row = `row(${columns.filter((column) => !(table === 'sessions' && column === 'last_seen_at')).map((column) => `t."${column}"`).join(', ')})::text`;
    return `select '${schema}.${table}' as name, count(*)::text || ':' || md5(coalesce(string_agg(${row}, '|' order by ${row}), '')) as state from "${schema}"."${table}" t`;
  });
  const tables = `select 'tables' as name, string_agg(schemaname || '.' || tablename, ',' order by schemaname, tablename) as state from pg_tables where schemaname = 'public' or schemaname like 'territory\\_%'`;
  return sql.raw<{ name: string; state: string }>([tables, ...parts].join('\nunion all\n'));
}

function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((table) => before[table] !== after[table]);
}

/** What is wrong with one answer, or null. */
function problemWith(request: BadRequest, response: LightMyRequestResponse): string | null {
  if (response.statusCode >= 500) return `answered ${response.statusCode}: ${response.body.slice(0, 300)}`;
  if (request.mustFail && response.statusCode < 400) return `accepted invalid input with ${response.statusCode}`;
  if (response.statusCode < 400) return null;
  let body: unknown;
  try {
    body = response.json();
  } catch {
    return `error ${response.statusCode} without a JSON body: ${response.body.slice(0, 200)}`;
  }
  const error = body as { code?: unknown; message?: unknown; correlationId?: unknown };
  if (Object.keys(error).sort().join() !== 'code,correlationId,message') return `error body is not {code, message, correlationId}: ${response.body.slice(0, 200)}`;
  if (typeof error.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(error.code)) return `error code is not UPPER_SNAKE: ${String(error.code)}`;
  if (typeof error.message !== 'string' || error.message.length === 0) return 'error message is empty';
  if (error.correlationId !== response.headers['x-correlation-id']) return 'correlationId differs from the X-Correlation-Id header';
  return null;
}

describe('bad input on every route of the OpenAPI document', () => {
  it('is refused with a typed error, never a 5xx, and changes nothing', { timeout: 60_000 + runs * 5_000 }, async () => {
    expect(operations.length).toBeGreaterThan(50);
    const cases = fc.tuple(
      ...operations.map((operation) =>
        fc.record({
          operation: fc.constant(operation),
          caller: fc.constantFrom(...CALLERS),
          // Sometimes forged or malformed credentials and metadata on top of (or instead of) the caller's.
          forged: fc.option(forgedHeaders, { freq: 3 }),
          request: badRequests(operation, test.config.bodyLimitBytes),
        }),
      ),
    );
    const statuses = new Map<number, number>();
    try {
      await fc.assert(
        fc.asyncProperty(cases, async (walk) => {
          const before = await snapshot(test.database.db);
          for (const { operation, caller, forged, request } of walk) {
            const response = await test.app.inject({
              method: operation.method as 'GET',
              url: request.url,
              headers: { ...credentials[caller], ...forged, ...request.headers },
              ...(request.payload === undefined ? {} : { payload: request.payload }),
            });
            statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
            const problem = problemWith(request, response);
            if (problem) throw new Error(`${operation.method} ${operation.path} (${request.kind}, as ${caller}${forged ? ' with forged headers' : ''}): ${problem}`);
          }
          const changed = changedTables(before, await snapshot(test.database.db));
          if (changed.length > 0) throw new Error(`the walk changed the database: ${changed.join(', ')}`);
        }),
        { seed, numRuns: runs, endOnFailure: true },
      );
    } catch (error) {
      throw new Error(`fuzz failed; replay with FUZZ_SEED=${seed}\n${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    // Most answers are refusals; the walk reached the validators, not only the 404 handler.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(operations.length);
    // And the snapshot sees a change when there is one: a new guest is three rows in three tables and more.
    const before = await snapshot(test.database.db);
    expect((await test.app.inject({ method: 'POST', url: '/session' })).statusCode).toBe(201);
    expect(changedTables(before, await snapshot(test.database.db))).toEqual(expect.arrayContaining(['public.accounts', 'public.sessions', 'public.personas']));
  });

  it('of the right shape but odd content (any code point, extreme numbers) never gets a 5xx or an untyped error', { timeout: 60_000 + runs * 5_000 }, async () => {
    // Runs after the walk above: these may act (a territory made, a guest deleted), so the database may change.
    const cases = fc.tuple(
      ...operations.map((operation) =>
        fc.record({ operation: fc.constant(operation), caller: fc.constantFrom(...CALLERS), request: shapeValidRequest(operation) }),
      ),
    );
    try {
      await fc.assert(
        fc.asyncProperty(cases, async (walk) => {
          for (const { operation, caller, request } of walk) {
            const response = await test.app.inject({
              method: operation.method as 'GET',
              url: request.url,
              headers: { ...credentials[caller], ...request.headers },
              ...(request.payload === undefined ? {} : { payload: request.payload }),
            });
            const problem = problemWith(request, response);
            if (problem) throw new Error(`${operation.method} ${request.url} (as ${caller}, body ${request.payload?.slice(0, 200)}): ${problem}`);
          }
        }),
        { seed, numRuns: Math.max(2, Math.ceil(runs / 2)), endOnFailure: true },
      );
    } catch (error) {
      throw new Error(`fuzz failed; replay with FUZZ_SEED=${seed}\n${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  });
});

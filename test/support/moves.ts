import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.js';
import { Browser, newPerson, SESSION_COOKIE } from './browser.js';
import type { TestApp } from './app.js';
import { TokenHasher } from '../../src/crypto/tokens.js';

/** Helpers for the territory move tests: people with handles and territory rows, and what a consistent state looks like. */

export interface Mover {
  readonly browser: Browser;
  readonly profileId: string;
  readonly accountId: string;
  readonly handle: string;
}

const MOVER_USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0';

/** A person registered by email and password (so their session is fresh), with a handle on their persona. */
export async function registerMover(test: TestApp, tag = 'mover'): Promise<Mover> {
  // A real browser's user agent: the session gets a device label, one more territory row a move carries.
  const browser = new Browser(test.app, { 'user-agent': MOVER_USER_AGENT });
  const registered = await browser.register(newPerson(tag));
  if (registered.statusCode !== 201) throw new Error(`register failed: ${registered.body}`);
  const hasher = new TokenHasher(test.config.secrets.tokenHashKey);
  const ids = await test.database.db
    .selectFrom('sessions as s')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select(['a.id as accountId', 'a.accountability_profile_id as profileId'])
    .where('s.token_hash', '=', hasher.hash('session', browser.sessionToken))
    .executeTakeFirstOrThrow();
  // Random, not a clock and a counter: handles are compared by skeleton (look-alikes folded, `_`
  // dropped), under which two clock-made names can collide.
  const handle = `m${randomBytes(10).toString('hex')}`;
  const claimed = await browser.request('PUT', `/personas/${registered.json().personaId}/handle`, { handle });
  if (claimed.statusCode !== 200) throw new Error(`claim failed: ${claimed.body}`);
  if (!browser.jar.has(SESSION_COOKIE)) throw new Error('no session');
  return { browser, profileId: ids.profileId, accountId: ids.accountId, handle };
}

export async function createTerritory(test: TestApp, code: string, extra: Record<string, unknown> = {}): Promise<void> {
  const response = await test.app.inject({ method: 'POST', url: '/admin/territories', headers: test.adminHeaders, payload: { code, name: `Territory ${code}`, ...extra } });
  if (response.statusCode !== 201) throw new Error(`territory ${code}: ${response.body}`);
}

export async function setMoveCooldown(test: TestApp, days: number): Promise<void> {
  const response = await test.app.inject({ method: 'PUT', url: '/admin/policies/territory_move_cooldown_days', headers: test.adminHeaders, payload: { value: days } });
  if (response.statusCode !== 200) throw new Error(`policy: ${response.body}`);
}

/** Recovery codes of the person's account in a territory schema (what a move must carry along). */
export async function addRecoveryCodes(db: Db, code: string, accountId: string, count: number, used = 0): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => ({ account_id: accountId, code_hash: randomBytes(32), used_at: i < used ? new Date() : null }));
  await sql`insert into ${sql.table(`territory_${code}.recovery_codes`)} (account_id, code_hash, used_at)
    select * from jsonb_to_recordset(${JSON.stringify(rows.map((row) => ({ ...row, code_hash: `\\x${row.code_hash.toString('hex')}` })))}::jsonb)
      as r(account_id uuid, code_hash bytea, used_at timestamptz)`.execute(db);
}

export interface Residency {
  readonly primary: string[];
  readonly secondary: string[];
  readonly residents: Record<string, Array<{ id: string; active: boolean }>>;
  readonly recoveryCodes: Record<string, number>;
  readonly usedCodes: Record<string, number>;
  /** Device labels of the mover's account's sessions (its registration's, unless the test signs in more). */
  readonly sessionLabels: Record<string, number>;
  readonly openMoves: number;
}

/** Everything about the person's residency, read straight from the schemas (`global` for citizenships, `territory(code)` for rows). */
export async function residencyOf(global: Db, territory: (code: string) => Db, mover: Pick<Mover, 'profileId' | 'accountId'>, codes: readonly string[]): Promise<Residency> {
  const live = await global.selectFrom('citizenships').select(['territory_code', 'is_primary']).where('accountability_profile_id', '=', mover.profileId).where('ended_at', 'is', null).execute();
  const residents: Record<string, Array<{ id: string; active: boolean }>> = {};
  const recoveryCodes: Record<string, number> = {};
  const usedCodes: Record<string, number> = {};
  const sessionLabels: Record<string, number> = {};
  for (const code of codes) {
    const db = territory(code);
    const rows = await sql<{ id: string; is_active: boolean }>`select id, is_active from ${sql.table(`territory_${code}.residents`)} where accountability_profile_id = ${mover.profileId} order by created_at`.execute(db);
    residents[code] = rows.rows.map((row) => ({ id: row.id, active: row.is_active }));
    const counted = await sql<{ n: number; used: number }>`select count(*)::int as n, count(used_at)::int as used from ${sql.table(`territory_${code}.recovery_codes`)} where account_id = ${mover.accountId}`.execute(db);
    recoveryCodes[code] = counted.rows[0]!.n;
    usedCodes[code] = counted.rows[0]!.used;
    const labels = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`territory_${code}.session_labels`)} where account_id = ${mover.accountId}`.execute(db);
    sessionLabels[code] = labels.rows[0]!.n;
  }
  const open = await global.selectFrom('territory_moves').select((eb) => eb.fn.countAll<number>().as('n')).where('accountability_profile_id', '=', mover.profileId).where('step', '<>', 'done').executeTakeFirstOrThrow();
  return {
    primary: live.filter((row) => row.is_primary).map((row) => row.territory_code),
    secondary: live.filter((row) => !row.is_primary).map((row) => row.territory_code).sort(),
    residents,
    recoveryCodes,
    usedCodes,
    sessionLabels,
    openMoves: Number(open.n),
  };
}

/** The events and audit rows a move left: exactly one of each per finished move. */
export async function traceOf(db: Db, profileId: string) {
  const events = await db.selectFrom('outbox').select(['type', 'payload']).where('type', 'in', ['PersonaMoved', 'CitizenshipEnded']).orderBy('seq').execute();
  const mine = events.filter((event) => (event.payload as { accountabilityProfileId?: string }).accountabilityProfileId === profileId);
  const moves = await db.selectFrom('territory_moves').select('id').where('accountability_profile_id', '=', profileId).execute();
  const audit = moves.length === 0 ? [] : await db.selectFrom('audit_log').select(['action', 'target']).where('action', '=', 'territory.move').where('target', 'in', moves.map((move) => move.id)).execute();
  return { events: mine.map((event) => event.type), moveAudits: audit.length, moves: moves.length };
}

/** The handle's key hash and its aliases. */
export async function handleOf(db: Db, handle: string) {
  const row = await db.selectFrom('user_identities').select('public_key_hash').where('handle', '=', handle).executeTakeFirstOrThrow();
  const aliases = await db.selectFrom('identity_aliases').select('territory_code').where('handle', '=', handle).orderBy('territory_code').execute();
  return { publicKeyHash: row.public_key_hash, aliases: aliases.map((alias) => alias.territory_code) };
}

/** Makes every session of the person too old for step-up. */
export async function staleSessions(db: Db, profileId: string): Promise<void> {
  await sql`update sessions set authenticated_at = now() - interval '1 day'
    where account_id in (select id from accounts where accountability_profile_id = ${profileId})`.execute(db);
}

export const expectOk = (response: { statusCode: number; body: string }, status = 200) => expect(response.statusCode, response.body).toBe(status);

import { sql, type Kysely } from 'kysely';
import * as passkeysAndLabels from '../territory-migrations/t0005-passkeys-session-labels.js';
import { copyBackFromTerritories, copyIntoTerritories } from '../territory-upgrade.js';

/**
 * Data residency for passkeys and session device labels, upgraded in place like 0008.
 *
 * A passkey's credential id and public key (and its counter and last use) leave the global schema for
 * the person's territory. Sign-in still finds the credential from the id the browser sends, through
 * the passkey account's global `accounts.lookup_key`: the keyed hash (HMAC under the server key) of
 * `passkey:<credential id>`, written by every release since 0003. So the global schema keeps only that
 * hash, never the raw id, and nothing new has to be computed here (a migration has no server key).
 *
 * A session's device label leaves `sessions` for `session_labels`, keyed by the session id: resolving
 * a session (the hot path) never read it, and the session list reads it from the territory.
 */
const PASSKEYS = {
  name: 'passkey_credentials',
  columns: ['account_id', 'credential_id', 'public_key', 'counter', 'transports', 'counter_regressed_at', 'created_at', 'last_used_at'],
} as const;

const LABELS = {
  name: 'session_labels',
  columns: ['session_id', 'account_id', 'label', 'created_at'],
  key: 'session_id',
  source: sql`
    select s.id as session_id, s.account_id, s.device_label as label, s.created_at, a.accountability_profile_id as owner_profile
    from sessions s join accounts a on a.id = s.account_id
    where s.device_label is not null`,
} as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await copyIntoTerritories(db, '0011', [PASSKEYS, LABELS], passkeysAndLabels.up);
  await sql`drop table passkey_credentials`.execute(db);
  await sql`alter table sessions drop column device_label`.execute(db);
}

/** Back to the global table and column, from the territories in this database (remote ones are not reachable here). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table passkey_credentials (
      credential_id text primary key,
      account_id uuid not null unique references accounts (id) on delete cascade,
      public_key bytea not null,
      counter bigint not null default 0,
      transports text[] not null default '{}',
      counter_regressed_at timestamptz,
      created_at timestamptz not null default now(),
      last_used_at timestamptz
    )`.execute(db);
  await copyBackFromTerritories(db, [PASSKEYS]);
  await sql`alter table sessions add column device_label text`.execute(db);
  const local = (await sql<{ code: string }>`select code from territories where not remote`.execute(db)).rows;
  for (const { code } of local) {
    const labels = sql.table(`territory_${code}.session_labels`);
    await sql`update sessions s set device_label = l.label from ${labels} l where l.session_id = s.id`.execute(db);
    await sql`delete from ${labels}`.execute(db);
  }
}

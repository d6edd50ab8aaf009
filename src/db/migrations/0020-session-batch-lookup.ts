import { sql, type Kysely } from 'kysely';

/**
 * Session resolution by token for many tokens in one call: the requests that miss the session cache
 * together are answered by one statement (src/modules/sessions/session-repository.ts). Issue 12's
 * profile of an uncached `GET /session` on PostgreSQL put a fifth of the service's CPU in the write
 * of each lookup to its connection, and 110–150 µs of the database's CPU in each call, against
 * 30–45 µs for `select 1`: the cost of a statement, not of the four index lookups.
 *
 * The same rows and rules as `session_lookup` (migration 0015), each row with the index (from 1)
 * of the token it answers in the array, so the caller needs no key of its own. A token not found
 * (unknown, expired, idle) has no row. `session_lookup` keeps serving lookups by public id.
 *
 * Each token is a probe of the unique index, whatever the statistics say: sequential scans, hash and
 * merge joins are off for this function (every row it reads is found by a primary or unique key).
 * PL/pgSQL keeps a connection's plan until the next ANALYZE, so a plan made while `sessions` was
 * small (reading the whole table, by a hash join or a filtered loop) stayed while it grew: 3,541
 * such reads in a one-minute soak from an empty database. Forcing the probe with `lateral … limit 1`
 * instead also forced the inner joins into loops, which cost up to seven times more on small tables.
 */
const CREATE = sql`
  create function session_lookup_by_token_hashes(by_token_hashes bytea[])
  returns table (
    token_index bigint, session_id uuid, session_public_id text, account_id uuid, account_type text, accountability_profile_id uuid,
    banned boolean, verified boolean, persona_id uuid, display_name text, trust_level text, author_id text, touch_due boolean
  )
  language plpgsql stable
  set enable_seqscan = off
  set enable_hashjoin = off
  set enable_mergejoin = off
  as $fn$
  #variable_conflict use_column
  begin
    return query
    select t.token_index, s.id, s.public_id, s.account_id, a.type, a.accountability_profile_id, ap.banned_at is not null, ap.is_verified,
      p.id, p.display_name, p.trust_level, p.author_id,
      s.idle_timeout_seconds is not null and s.last_seen_at < now() - make_interval(secs => least(60, s.idle_timeout_seconds / 2.0))
    from unnest(by_token_hashes) with ordinality as t(hash, token_index)
    join sessions s on s.token_hash = t.hash
    join accounts a on a.id = s.account_id
    join accountability_profiles ap on ap.id = a.accountability_profile_id
    left join personas p on p.id = s.active_persona_id and p.is_active and p.deleted_at is null
    where (s.expires_at is null or s.expires_at > now())
      and (s.idle_timeout_seconds is null or s.last_seen_at + make_interval(secs => s.idle_timeout_seconds) > now());
  end
  $fn$
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await CREATE.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists session_lookup_by_token_hashes(bytea[])`.execute(db);
}

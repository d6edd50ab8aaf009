import { sql, type Kysely } from 'kysely';

/**
 * Session resolution (every request that names a session, `GET /session` on a cache miss, every
 * state-changing request) as one PL/pgSQL function, as 0007 did for public lookups. Built with
 * Kysely, the same four-table join was planned on every call and rebuilt in JavaScript: 2.0 ms of
 * CPU per call on PGlite and 0.7 ms in the Node process on PostgreSQL, against 0.6 ms and 0.2 ms
 * (about the cost of `select 1`) through the function, whose plans PL/pgSQL keeps for the session.
 *
 * One branch per key (the token's keyed hash, or the public id an access token names), so each
 * query has its own plan on its own unique index. Liveness is decided here by the database's clock,
 * so every node agrees: the absolute end (`expires_at`) and, for signed-in sessions, the idle end.
 * `touch_due` says whether `last_seen_at` is old enough to refresh (a minute, or half the idle
 * timeout if shorter). The persona is null unless it is live (active, not deleted).
 */
const CREATE = sql`
  create function session_lookup(by_token_hash bytea, by_public_id text)
  returns table (
    session_id uuid, session_public_id text, account_id uuid, account_type text, accountability_profile_id uuid,
    banned boolean, verified boolean, persona_id uuid, display_name text, trust_level text, author_id text, touch_due boolean
  )
  language plpgsql stable
  as $fn$
  #variable_conflict use_column
  begin
    if by_token_hash is not null then
      return query
      select s.id, s.public_id, s.account_id, a.type, a.accountability_profile_id, ap.banned_at is not null, ap.is_verified,
        p.id, p.display_name, p.trust_level, p.author_id,
        s.idle_timeout_seconds is not null and s.last_seen_at < now() - make_interval(secs => least(60, s.idle_timeout_seconds / 2.0))
      from sessions s
      join accounts a on a.id = s.account_id
      join accountability_profiles ap on ap.id = a.accountability_profile_id
      left join personas p on p.id = s.active_persona_id and p.is_active and p.deleted_at is null
      where s.token_hash = by_token_hash
        and (s.expires_at is null or s.expires_at > now())
        and (s.idle_timeout_seconds is null or s.last_seen_at + make_interval(secs => s.idle_timeout_seconds) > now());
    else
      return query
      select s.id, s.public_id, s.account_id, a.type, a.accountability_profile_id, ap.banned_at is not null, ap.is_verified,
        p.id, p.display_name, p.trust_level, p.author_id,
        s.idle_timeout_seconds is not null and s.last_seen_at < now() - make_interval(secs => least(60, s.idle_timeout_seconds / 2.0))
      from sessions s
      join accounts a on a.id = s.account_id
      join accountability_profiles ap on ap.id = a.accountability_profile_id
      left join personas p on p.id = s.active_persona_id and p.is_active and p.deleted_at is null
      where s.public_id = by_public_id
        and (s.expires_at is null or s.expires_at > now())
        and (s.idle_timeout_seconds is null or s.last_seen_at + make_interval(secs => s.idle_timeout_seconds) > now());
    end if;
  end
  $fn$
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await CREATE.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists session_lookup(bytea, text)`.execute(db);
}

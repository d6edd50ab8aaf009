import { sql, type Kysely } from 'kysely';

/**
 * The public lookup of a handle (GET /identities/{handle}, WebFinger) as one PL/pgSQL function.
 * Why a function: the lookup is the hot path of federation, and planning its joins costs several
 * times executing them (about 6 ms against 0.3 ms on PGlite). PL/pgSQL keeps the plan of its query
 * for the session, so each call only executes. The query reads live personas only (active, not
 * deleted), fresh on every call: a deactivation shows on every node from the very next request.
 *
 * Columns: the handle, its live persona's public face, the current territory (the person's primary
 * citizenship, else the default territory), the old territories as JSON (aliases: not the current
 * one) and the raw ed25519 key whose SHA-256 is the handle's key hash, for its did:key.
 */
const CREATE = sql`
  create function identity_lookup(lookup_handle text)
  returns table (
    handle text, public_key_hash text, display_name text, avatar_url text,
    code text, name text, federation_domain text, matrix_domain text, aliases json, public_key bytea
  )
  language plpgsql stable
  as $fn$
  #variable_conflict use_column
  begin
    return query
    select u.handle, u.public_key_hash, p.display_name, p.avatar_url,
      t.code, t.name, t.federation_domain, t.matrix_domain,
      coalesce((
        select json_agg(json_build_object('code', x.code, 'federationDomain', x.federation_domain, 'matrixDomain', x.matrix_domain) order by a.created_at)
        from identity_aliases a join territories x on x.code = a.territory_code
        where a.handle = u.handle and a.territory_code <> t.code
      ), '[]'::json),
      case when u.key_hash is null then null else (
        select k.public_key from key_credentials k join accounts ka on ka.id = k.account_id
        where ka.accountability_profile_id = p.accountability_profile_id and encode(sha256(k.public_key), 'hex') = u.key_hash
        order by k.created_at
        limit 1
      ) end
    from user_identities u
    join personas p on p.id = u.persona_id
    left join citizenships c on c.accountability_profile_id = p.accountability_profile_id and c.is_primary and c.ended_at is null
    join territories t on t.code = coalesce(c.territory_code, (select d.code from territories d where d.is_default))
    where u.handle = lookup_handle and p.is_active and p.deleted_at is null;
  end
  $fn$
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await CREATE.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists identity_lookup(text)`.execute(db);
}

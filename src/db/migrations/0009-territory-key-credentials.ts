import { sql, type Kysely } from 'kysely';
import * as keyCredentials from '../territory-migrations/t0003-key-credentials.js';
import { copyBackFromTerritories, copyIntoTerritories } from '../territory-upgrade.js';
import * as identityLookup from './0007-identity-lookup.js';

/**
 * Data residency for ed25519 sign-in keys: `key_credentials` (which account holds which key) leaves
 * the global schema for each person's territory, upgraded in place like 0008.
 *
 * The handle's did:key is another matter: the public lookup publishes it (GET /identities/{handle},
 * WebFinger), so the raw key behind `user_identities.key_hash` is lookup data, public by nature, like
 * the hash spec 004 already keeps there. It stands on the handle as `key_public`, beside its hash, and
 * `identity_lookup` reads it there: the hot path stays one call to the global database, without a
 * second round trip to a territory that may be on another server. What stays personal (which of the
 * person's accounts holds it, a key not on any handle, when it was added) moves to the territory.
 */
const TABLES = [{ name: 'key_credentials', columns: ['account_id', 'public_key', 'created_at'] }] as const;

/** As 0007's, with the key read from the handle itself instead of joined from the person's credentials. */
const LOOKUP = sql`
  create or replace function identity_lookup(lookup_handle text)
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
      u.key_public
    from user_identities u
    join personas p on p.id = u.persona_id
    left join citizenships c on c.accountability_profile_id = p.accountability_profile_id and c.is_primary and c.ended_at is null
    join territories t on t.code = coalesce(c.territory_code, (select d.code from territories d where d.is_default))
    where u.handle = lookup_handle and p.is_active and p.deleted_at is null;
  end
  $fn$
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table user_identities add column key_public bytea`.execute(db);
  // The key each handle's hash names, from its person's credentials (what 0007's lookup joined).
  await sql`
    update user_identities u set key_public = (
      select k.public_key from key_credentials k
      join accounts ka on ka.id = k.account_id
      join personas p on p.accountability_profile_id = ka.accountability_profile_id
      where p.id = u.persona_id and encode(sha256(k.public_key), 'hex') = u.key_hash
      order by k.created_at limit 1)
    where u.key_hash is not null`.execute(db);
  // The raw key and its hash never disagree: a did published for a handle is the key its hash names.
  await sql`
    alter table user_identities add constraint user_identities_key_public_matches
    check (key_public is null or (key_hash is not null and encode(sha256(key_public), 'hex') = key_hash))`.execute(db);
  await LOOKUP.execute(db);
  await copyIntoTerritories(db, '0009', TABLES, keyCredentials.up);
  await sql`drop table key_credentials`.execute(db);
}

/** Back to the global table, from the territories in this database (remote ones are not reachable here). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table key_credentials (
      account_id uuid primary key references accounts (id) on delete cascade, public_key bytea not null unique, created_at timestamptz not null default now()
    )`.execute(db);
  await copyBackFromTerritories(db, TABLES);
  await identityLookup.down(db);
  await identityLookup.up(db);
  await sql`alter table user_identities drop column key_public`.execute(db);
}

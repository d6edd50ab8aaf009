import { sql, type Kysely } from 'kysely';

/**
 * A sign-in method taken off a person who carries an accountability mark (a ban, a raised risk or
 * abuse score), by unlinking it or by deleting the whole identity: only its keyed lookup hash is
 * kept, with the person it came from, so that whoever signs in with it next takes the mark on
 * (DESIGN.md §2 invariant 4). The method's identifier, credential and personas are not kept. A
 * clean person's methods leave nothing here.
 */
const RETIRED_METHODS = sql`
  create table retired_methods (
    type text not null,
    lookup_key bytea not null,
    accountability_profile_id uuid not null references accountability_profiles (id) on delete cascade,
    retired_at timestamptz not null default now(),
    primary key (type, lookup_key)
  )
`;

/** Issue 4: a mark cannot be shed by deleting an identity or unlinking a method and signing in anew. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await RETIRED_METHODS.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists retired_methods`.execute(db);
}

import { sql, type Kysely } from 'kysely';

/**
 * Two kinds of personal rows leave the global schema (global migration 0012-territory-appeals-
 * identification copies the rows in):
 *
 * - `appeal_statements`: an appeal's statement, the person's own words. The appeal itself (status,
 *   resolution, dates) stays global, where trust & safety's queue is; `accountability_profile_id`
 *   says whose words they are, so a move and an erasure find them.
 * - `sealed_identity_links`: voluntary identification (spec 000), sealed under a key derived from
 *   the browser's own token and found only by a lookup key derived from it too. On purpose it names
 *   no owner and carries no timestamp: the database, with every server key, must not be able to
 *   join it to the anonymous identity (DESIGN.md §1). The global `identity_links` keeps the lookup
 *   key with the territory that holds the row.
 *
 * No foreign keys: the territory may live on another server.
 */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  const table = (name: string) => sql.table(`${schema}.${name}`);
  await sql`
    create table if not exists ${table('appeal_statements')} (
      appeal_id uuid primary key,
      accountability_profile_id uuid not null,
      statement text not null,
      written_at timestamptz not null default now()
    )
  `.execute(db);
  await sql`create index if not exists appeal_statements_profile_idx on ${table('appeal_statements')} (accountability_profile_id)`.execute(db);
  await sql`
    create table if not exists ${table('sealed_identity_links')} (
      lookup_key bytea primary key,
      sealed bytea not null
    )
  `.execute(db);
}

import { sql, type Kysely } from 'kysely';

/** A territory's first tables: its residents, their recovery codes, and invited addresses. */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  const table = (name: string) => sql.table(`${schema}.${name}`);
  await sql`
    create table ${table('residents')} (
      id uuid primary key,
      accountability_profile_id uuid not null,
      is_active boolean not null default true,
      created_at timestamptz not null default now(),
      deactivated_at timestamptz
    )
  `.execute(db);
  await sql`create index on ${table('residents')} (accountability_profile_id)`.execute(db);
  await sql`
    create table ${table('recovery_codes')} (
      account_id uuid not null,
      code_hash bytea not null,
      created_at timestamptz not null default now(),
      used_at timestamptz,
      primary key (account_id, code_hash)
    )
  `.execute(db);
  await sql`
    create table ${table('invitation_emails')} (
      invitation_id uuid primary key,
      lookup_key bytea not null,
      key_id text not null,
      sealed bytea not null
    )
  `.execute(db);
}

import { sql, type Kysely } from 'kysely';

/**
 * The secret half of sign-in methods, moved out of the global schema (global migration
 * 0008-territory-sign-in-secrets copies the rows in): sealed emails, sealed identifiers and argon2id
 * password hashes. `account_id` names a global account without a foreign key, since the territory
 * may live on another server; deletions are explicit (TABLE_RULES, identity erasure, unlinking).
 */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  const table = (name: string) => sql.table(`${schema}.${name}`);
  for (const name of ['account_emails', 'account_identifiers']) {
    await sql`
      create table if not exists ${table(name)} (
        account_id uuid primary key,
        key_id text not null,
        sealed bytea not null
      )
    `.execute(db);
  }
  await sql`
    create table if not exists ${table('password_credentials')} (
      account_id uuid primary key,
      hash text not null,
      updated_at timestamptz not null default now()
    )
  `.execute(db);
}

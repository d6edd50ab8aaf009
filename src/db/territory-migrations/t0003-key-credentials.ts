import { sql, type Kysely } from 'kysely';

/**
 * ed25519 sign-in keys, moved out of the global schema (global migration 0009-territory-key-credentials
 * copies the rows in): which account holds which key is the person's. The key is still unique across
 * the whole service, through the global `accounts (type, lookup_key)` of its did:key; here only the
 * account id is the key. No foreign key: the territory may live on another server.
 */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  await sql`
    create table if not exists ${sql.table(`${schema}.key_credentials`)} (
      account_id uuid primary key,
      public_key bytea not null,
      created_at timestamptz not null default now()
    )
  `.execute(db);
}

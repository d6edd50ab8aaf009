import { sql, type Kysely } from 'kysely';

/**
 * Session-wallet private keys (spec 003), sealed, moved out of the global schema (global migration
 * 0010-territory-wallet-keys copies them in); the address stays global beside its persona, public.
 * `accountability_profile_id` says whose they are, so a move and an erasure find them; no foreign
 * key, since the territory may live on another server.
 */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  await sql`
    create table if not exists ${sql.table(`${schema}.persona_wallet_keys`)} (
      persona_id uuid primary key,
      accountability_profile_id uuid not null,
      key_id text not null,
      private_sealed bytea not null,
      created_at timestamptz not null default now()
    )
  `.execute(db);
  await sql`create index if not exists persona_wallet_keys_profile_idx on ${sql.table(`${schema}.persona_wallet_keys`)} (accountability_profile_id)`.execute(db);
}

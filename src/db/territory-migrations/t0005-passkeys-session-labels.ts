import { sql, type Kysely } from 'kysely';

/**
 * WebAuthn credentials and session device labels, moved out of the global schema (global migration
 * 0011-territory-passkeys-session-labels copies the rows in).
 *
 * `passkey_credentials`: the credential id the authenticator gave, its COSE public key, the signature
 * counter and when it was used — which authenticator a person holds is theirs. The credential is
 * found at sign-in through the global `accounts (type, lookup_key)`, the keyed hash of
 * `passkey:<credential id>`, which also keeps it unique across the service; here only the account id
 * is the key. The credential id is deliberately not unique here: a row a remote territory committed
 * for a registration whose global part then failed names an account that never existed, and must
 * not block the same passkey's next registration.
 *
 * `session_labels`: the "Firefox on Linux" the session list shows, by global session id. Resolving a
 * session never reads it (the hot path stays in the global database); the list does.
 *
 * No foreign keys: the territory may live on another server; deletions are explicit (TABLE_RULES,
 * identity erasure, unlinking, the purge's sweep of labels whose session ended).
 */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  const table = (name: string) => sql.table(`${schema}.${name}`);
  await sql`
    create table if not exists ${table('passkey_credentials')} (
      account_id uuid primary key,
      credential_id text not null,
      public_key bytea not null,
      counter bigint not null default 0,
      transports text[] not null default '{}',
      counter_regressed_at timestamptz,
      created_at timestamptz not null default now(),
      last_used_at timestamptz
    )
  `.execute(db);
  await sql`
    create table if not exists ${table('session_labels')} (
      session_id uuid primary key,
      account_id uuid not null,
      label text not null,
      created_at timestamptz not null default now()
    )
  `.execute(db);
  await sql`create index if not exists session_labels_account_idx on ${table('session_labels')} (account_id)`.execute(db);
}

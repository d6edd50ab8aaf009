import { sql, type Kysely } from 'kysely';

const FOUNDATION = [
  sql`
    create table accountability_profiles (
      id uuid primary key default gen_random_uuid(),
      abuse_score real not null default 0 check (abuse_score >= 0 and abuse_score <= 1),
      risk_level text not null default 'LOW' check (risk_level in ('LOW', 'MEDIUM', 'HIGH')),
      is_verified boolean not null default false,
      legal_hold boolean not null default false,
      banned_at timestamptz,
      ban_reason text,
      created_at timestamptz not null default now()
    )
  `,
  sql`
    create table accounts (
      id uuid primary key default gen_random_uuid(),
      type text not null check (type in ('guest', 'email', 'wallet', 'social', 'passkey', 'key')),
      lookup_key bytea not null,
      accountability_profile_id uuid not null references accountability_profiles (id) on delete cascade,
      created_at timestamptz not null default now(),
      constraint accounts_type_lookup_key_unique unique (type, lookup_key)
    )
  `,
  sql`
    create index accounts_profile_idx on accounts (accountability_profile_id)
  `,
  sql`
    create table personas (
      id uuid primary key default gen_random_uuid(),
      accountability_profile_id uuid not null references accountability_profiles (id) on delete cascade,
      display_name text not null check (char_length(display_name) between 1 and 64),
      display_name_key text not null,
      avatar_url text,
      author_id text not null,
      trust_level text not null default 'NEW' check (trust_level in ('NEW', 'REGULAR', 'TRUSTED')),
      is_active boolean not null default true,
      deleted_at timestamptz,
      created_at timestamptz not null default now(),
      constraint personas_author_id_unique unique (author_id)
    )
  `,
  sql`
    create index personas_profile_idx on personas (accountability_profile_id)
  `,
  sql`
    create unique index personas_live_display_name_unique on personas (display_name_key)
      where is_active and deleted_at is null
  `,
  sql`
    create table persona_access (
      account_id uuid not null references accounts (id) on delete cascade,
      persona_id uuid not null references personas (id) on delete cascade,
      primary key (account_id, persona_id)
    )
  `,
  sql`
    create index persona_access_persona_idx on persona_access (persona_id)
  `,
  sql`
    create table sessions (
      id uuid primary key default gen_random_uuid(),
      token_hash bytea not null,
      account_id uuid not null references accounts (id) on delete cascade,
      active_persona_id uuid references personas (id) on delete set null,
      created_at timestamptz not null default now(),
      expires_at timestamptz,
      constraint sessions_token_hash_unique unique (token_hash)
    )
  `,
  sql`
    create index sessions_account_idx on sessions (account_id)
  `,
  sql`
    -- No foreign key, no timestamp: nothing here may point back at the person (spec 000).
    create table identity_links (
      lookup_key bytea primary key,
      sealed bytea not null
    )
  `,
  sql`
    create table apps (
      id uuid primary key default gen_random_uuid(),
      name text not null check (char_length(name) between 1 and 100),
      api_key_hash bytea not null,
      created_at timestamptz not null default now(),
      revoked_at timestamptz,
      constraint apps_api_key_hash_unique unique (api_key_hash)
    )
  `,
  sql`
    create table app_person_hashes (
      app_id uuid not null references apps (id) on delete cascade,
      accountability_profile_id uuid not null references accountability_profiles (id) on delete cascade,
      person_hash text not null,
      created_at timestamptz not null default now(),
      primary key (app_id, accountability_profile_id),
      constraint app_person_hashes_hash_unique unique (person_hash)
    )
  `,
  sql`
    create table audit_log (
      id bigint generated always as identity primary key,
      at timestamptz not null default now(),
      actor text not null,
      action text not null,
      target text not null,
      correlation_id text not null,
      detail jsonb not null default '{}'
    )
  `,
  sql`
    create function audit_log_is_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only' using errcode = 'insufficient_privilege';
    end;
    $$
  `,
  sql`
    create trigger audit_log_append_only before update or delete or truncate on audit_log
      for each statement execute function audit_log_is_append_only()
  `,
];

/**
 * The foundation: people (accountability profiles), sign-in accounts, personas, sessions,
 * voluntary identification, registered apps and the append-only audit log.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of FOUNDATION) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table if exists audit_log, app_person_hashes, apps, identity_links, sessions, persona_access,
      personas, accounts, accountability_profiles cascade
  `.execute(db);
  await sql`drop function if exists audit_log_is_append_only()`.execute(db);
}

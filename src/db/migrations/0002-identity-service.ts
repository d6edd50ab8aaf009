import { sql, type Kysely } from 'kysely';

const IDENTITY_SERVICE = [
  // Sign-in material, apart from the accounts it belongs to (DESIGN.md §1: personal data and
  // secrets live in their own tables, owned by one module, ready to move into a territory schema).
  sql`
    create table account_emails (
      account_id uuid primary key references accounts (id) on delete cascade,
      key_id text not null,
      sealed bytea not null
    )
  `,
  sql`
    create table password_credentials (
      account_id uuid primary key references accounts (id) on delete cascade,
      hash text not null,
      updated_at timestamptz not null default now()
    )
  `,
  // Signed-in sessions end when idle for too long (guest sessions have no idle timeout).
  sql`alter table sessions add column last_seen_at timestamptz not null default now()`,
  sql`alter table sessions add column idle_timeout_seconds integer check (idle_timeout_seconds > 0)`,
  // Two accounts known to be one person: 'inferred' is an internal signal only, 'direct' the user's own link.
  sql`
    create table account_links (
      id uuid primary key default gen_random_uuid(),
      from_account_id uuid not null references accounts (id) on delete cascade,
      to_account_id uuid not null references accounts (id) on delete cascade,
      kind text not null check (kind in ('inferred', 'direct')),
      privacy_mode text check (privacy_mode in ('linked', 'partial', 'isolated')),
      created_at timestamptz not null default now(),
      constraint account_links_unique unique (from_account_id, to_account_id, kind),
      constraint account_links_distinct check (from_account_id <> to_account_id)
    )
  `,
  sql`create index account_links_to_idx on account_links (to_account_id)`,
  // Persona lifecycle: how it came to be, when its trust level was granted, and when it may be purged.
  sql`
    alter table personas add column origin text not null default 'initial'
      check (origin in ('initial', 'created', 'rotated'))
  `,
  sql`alter table personas add column rotated_from uuid references personas (id) on delete set null`,
  sql`alter table personas add column trust_granted_at timestamptz not null default now()`,
  sql`alter table personas add column deactivated_at timestamptz`,
  sql`alter table personas add column purge_after timestamptz`,
  sql`create index personas_purge_idx on personas (purge_after) where purge_after is not null`,
  sql`create index personas_profile_created_idx on personas (accountability_profile_id, created_at)`,
  // A released display name stays reserved for its last holder for the reuse window (impersonation).
  sql`
    create table display_name_holds (
      display_name_key text primary key,
      accountability_profile_id uuid not null references accountability_profiles (id) on delete cascade,
      held_until timestamptz not null
    )
  `,
  sql`
    create table policies (
      name text primary key,
      value jsonb not null,
      updated_at timestamptz not null default now()
    )
  `,
  sql`
    create table persona_flags (
      id uuid primary key default gen_random_uuid(),
      persona_id uuid not null references personas (id) on delete cascade,
      reason text not null,
      actor text not null,
      created_at timestamptz not null default now()
    )
  `,
  sql`create index persona_flags_persona_idx on persona_flags (persona_id)`,
  sql`
    create table appeals (
      id uuid primary key default gen_random_uuid(),
      persona_id uuid references personas (id) on delete set null,
      accountability_profile_id uuid not null references accountability_profiles (id) on delete cascade,
      status text not null default 'open' check (status in ('open', 'upheld', 'overturned')),
      statement text not null,
      resolution text,
      opened_at timestamptz not null default now(),
      resolved_at timestamptz
    )
  `,
  sql`create index appeals_open_persona_idx on appeals (persona_id) where status = 'open'`,
  sql`
    create table admin_tokens (
      id uuid primary key default gen_random_uuid(),
      name text not null check (char_length(name) between 1 and 100),
      role text not null check (role in ('admin', 'moderator')),
      token_hash bytea not null,
      created_at timestamptz not null default now(),
      revoked_at timestamptz,
      constraint admin_tokens_token_hash_unique unique (token_hash)
    )
  `,
  // One membership per person per space, whichever persona joined (spec 002 edge case 3).
  sql`
    create table space_memberships (
      space_id text not null,
      accountability_profile_id uuid not null references accountability_profiles (id) on delete cascade,
      persona_id uuid not null references personas (id) on delete cascade,
      joined_at timestamptz not null default now(),
      primary key (space_id, accountability_profile_id)
    )
  `,
  sql`create index space_memberships_persona_idx on space_memberships (persona_id)`,
  // The transactional outbox: every state change writes its event here in the same transaction.
  sql`
    create table outbox (
      id uuid primary key default gen_random_uuid(),
      seq bigint generated always as identity,
      type text not null,
      payload jsonb not null,
      occurred_at timestamptz not null default now(),
      dispatched_at timestamptz,
      constraint outbox_seq_unique unique (seq)
    )
  `,
  sql`create index outbox_pending_idx on outbox (seq) where dispatched_at is null`,
  sql`
    create table webhooks (
      id uuid primary key default gen_random_uuid(),
      url text not null,
      secret_sealed bytea not null,
      event_types text[] not null default '{}',
      created_at timestamptz not null default now(),
      revoked_at timestamptz
    )
  `,
  sql`
    create table webhook_deliveries (
      event_id uuid not null references outbox (id) on delete cascade,
      webhook_id uuid not null references webhooks (id) on delete cascade,
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      delivered_at timestamptz,
      last_error text,
      primary key (event_id, webhook_id)
    )
  `,
  sql`create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where delivered_at is null`,
];

/**
 * The identity service of spec 002: email accounts and passwords, session timeouts, account links,
 * the persona lifecycle, policies, trust & safety, spaces, and the event outbox.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of IDENTITY_SERVICE) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table if exists webhook_deliveries, webhooks, outbox, space_memberships, admin_tokens, appeals,
      persona_flags, policies, display_name_holds, account_links, password_credentials, account_emails cascade
  `.execute(db);
  for (const column of ['origin', 'rotated_from', 'trust_granted_at', 'deactivated_at', 'purge_after']) {
    await sql`alter table personas drop column if exists ${sql.ref(column)}`.execute(db);
  }
  await sql`alter table sessions drop column if exists last_seen_at, drop column if exists idle_timeout_seconds`.execute(db);
}

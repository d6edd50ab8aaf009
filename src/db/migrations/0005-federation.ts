import { sql, type Kysely } from 'kysely';
import { DEFAULT_TERRITORY_CODE } from '../../modules/territories/territory.js';

/**
 * Spec 004 in the global schema: territories, the handles of personas (`user_identities`), each
 * person's citizenships, old addresses kept as aliases, moves between territories and invitations.
 * Only what lookups need lives here; personal data lives in the territories' own schemas (see
 * `db/territory-migrations`).
 */
const FEDERATION = [
  // A person may register with a handle and a password and no email at all (spec 004).
  sql`alter table accounts drop constraint accounts_type_check`,
  sql`
    alter table accounts add constraint accounts_type_check
      check (type in ('guest', 'email', 'handle', 'wallet', 'social', 'passkey', 'key'))
  `,
  // A data-residency region. A null domain means the service's own host (PUBLIC_ORIGIN), so the
  // built-in territory answers WebFinger at once; `remote` ones live on their own PostgreSQL server.
  sql`
    create table territories (
      code text primary key check (code ~ '^[a-z][a-z0-9]{1,15}$'),
      name text not null check (length(name) between 1 and 100),
      federation_domain text unique,
      matrix_domain text,
      invite_only boolean not null default false,
      status text not null default 'active' check (status in ('active', 'closed')),
      is_default boolean not null default false,
      remote boolean not null default false,
      created_at timestamptz not null default now()
    )
  `,
  sql`create unique index territories_one_default on territories (is_default) where is_default`,
  sql`insert into territories (code, name, is_default) values (${sql.lit(DEFAULT_TERRITORY_CODE)}, 'Main', true)`,
  // Handles (spec 004 usernames). A row is never deleted: a handle once issued is never issued
  // again, even after its persona is purged (persona_id becomes null). `skeleton` is the handle with
  // look-alikes folded; it is unique too, so `a1ice` cannot pass for `alice`.
  sql`
    create table user_identities (
      id uuid primary key default gen_random_uuid(),
      handle text not null check (handle ~ '^[a-z0-9_]{3,50}$'),
      skeleton text not null,
      public_key_hash text not null check (public_key_hash ~ '^[0-9a-f]{64}$'),
      key_hash text check (key_hash ~ '^[0-9a-f]{64}$'),
      persona_id uuid references personas (id) on delete set null,
      claimed_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint user_identities_handle_unique unique (handle),
      constraint user_identities_skeleton_unique unique (skeleton),
      constraint user_identities_public_key_hash_unique unique (public_key_hash),
      constraint user_identities_persona_unique unique (persona_id)
    )
  `,
  sql`create index user_identities_key_hash_idx on user_identities (key_hash) where key_hash is not null`,
  // A person's residency: one primary citizenship (the current territory), optionally more (dual
  // citizenship). A person with none lives in the default territory; guests never need a row.
  sql`
    create table citizenships (
      id uuid primary key default gen_random_uuid(),
      accountability_profile_id uuid not null references accountability_profiles (id) on delete cascade,
      territory_code text not null references territories (code),
      territory_user_id uuid not null unique,
      is_primary boolean not null,
      started_at timestamptz not null default now(),
      ended_at timestamptz
    )
  `,
  sql`create unique index citizenships_one_primary on citizenships (accountability_profile_id) where is_primary and ended_at is null`,
  sql`create unique index citizenships_one_per_territory on citizenships (accountability_profile_id, territory_code) where ended_at is null`,
  // Old addresses after a move: WebFinger answers them with the current address as subject.
  sql`
    create table identity_aliases (
      handle text not null references user_identities (handle),
      territory_code text not null references territories (code),
      created_at timestamptz not null default now(),
      primary key (handle, territory_code)
    )
  `,
  // The migration record of a move (a saga across databases: copy, switch, retire).
  sql`
    create table territory_moves (
      id uuid primary key default gen_random_uuid(),
      accountability_profile_id uuid not null references accountability_profiles (id) on delete cascade,
      from_territory text not null references territories (code),
      to_territory text not null references territories (code),
      dual_citizenship boolean not null,
      invitation_id uuid,
      from_user_id uuid not null,
      to_user_id uuid not null,
      step text not null default 'started' check (step in ('started', 'copied', 'switched', 'done')),
      started_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      finished_at timestamptz,
      correlation_id text not null
    )
  `,
  sql`create unique index territory_moves_one_open on territory_moves (accountability_profile_id) where step <> 'done'`,
  // Invitations: the token is stored only as a keyed hash; an invited email lives in the territory.
  sql`
    create table invitations (
      id uuid primary key default gen_random_uuid(),
      territory_code text not null references territories (code),
      token_hash bytea not null unique,
      kind text not null check (kind in ('single_use', 'group')),
      max_uses integer check (max_uses > 0),
      uses integer not null default 0,
      expires_at timestamptz,
      invited_handle text check (invited_handle ~ '^[a-z0-9_]{3,50}$'),
      has_email boolean not null default false,
      created_by_profile uuid references accountability_profiles (id) on delete cascade,
      created_by_admin text,
      revoked_at timestamptz,
      created_at timestamptz not null default now(),
      constraint invitations_uses_within_max check (max_uses is null or uses <= max_uses),
      constraint invitations_single_use check (kind <> 'single_use' or max_uses = 1),
      constraint invitations_creator check ((created_by_profile is null) <> (created_by_admin is null))
    )
  `,
  sql`create index invitations_creator_idx on invitations (created_by_profile, created_at)`,
  sql`
    create table invitation_uses (
      invitation_id uuid not null references invitations (id) on delete cascade,
      accountability_profile_id uuid not null references accountability_profiles (id) on delete cascade,
      purpose text not null check (purpose in ('registration', 'move')),
      used_at timestamptz not null default now(),
      primary key (invitation_id, accountability_profile_id)
    )
  `,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of FEDERATION) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists invitation_uses, invitations, territory_moves, identity_aliases, citizenships, user_identities, territories cascade`.execute(db);
}

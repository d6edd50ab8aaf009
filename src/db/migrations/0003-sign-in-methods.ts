import { sql, type Kysely } from 'kysely';

const SIGN_IN_METHODS = [
  // Every sign-in method is an account: whether its identifier was proven, which provider issued it
  // (social), and its privacy mode within the person's identity graph (spec 003).
  sql`alter table accounts add column verified boolean not null default true`,
  // An address given with a password was never proven to belong to its registrant.
  sql`update accounts set verified = false where type = 'email'`,
  sql`alter table accounts add column provider text`,
  sql`
    alter table accounts add column privacy_mode text not null default 'linked'
      check (privacy_mode in ('linked', 'partial', 'isolated'))
  `,
  // The identifier of a non-email account, sealed (AES-256-GCM under EMAIL_KEYS) for the identity
  // graph's masked view; lookups go by accounts.lookup_key, never by this.
  sql`
    create table account_identifiers (
      account_id uuid primary key references accounts (id) on delete cascade,
      key_id text not null,
      sealed bytea not null
    )
  `,
  // The account that made a persona: privacy modes decide which other accounts may act as it.
  sql`alter table personas add column owner_account_id uuid references accounts (id) on delete set null`,
  sql`
    update personas p set owner_account_id = (
      select min(pa.account_id::text)::uuid from persona_access pa where pa.persona_id = p.id
    )
  `,
  // A `partial` account's chosen personas besides its own.
  sql`
    create table account_persona_selections (
      account_id uuid not null references accounts (id) on delete cascade,
      persona_id uuid not null references personas (id) on delete cascade,
      primary key (account_id, persona_id)
    )
  `,
  // One challenge of one ceremony: a code, a nonce, an OIDC state, a WebAuthn challenge. Single use:
  // consumed atomically before the proof is checked. `challenge_hash` is a keyed hash of the secret
  // part; `subject_key` names what the challenge is for (a recipient), so sends can be limited and
  // only the newest code kept alive.
  sql`
    create table verifications (
      id uuid primary key default gen_random_uuid(),
      strategy text not null check (strategy in ('email', 'wallet', 'social', 'passkey', 'key')),
      challenge_hash bytea not null,
      subject_key bytea,
      state jsonb not null default '{}',
      attempts integer not null default 0,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      consumed_at timestamptz,
      constraint verifications_challenge_unique unique (strategy, challenge_hash)
    )
  `,
  sql`create index verifications_subject_idx on verifications (strategy, subject_key, created_at) where subject_key is not null`,
  sql`create index verifications_expiry_idx on verifications (expires_at)`,
  // WebAuthn credentials: one passkey account each; the public key and the signature counter.
  sql`
    create table passkey_credentials (
      credential_id text primary key,
      account_id uuid not null unique references accounts (id) on delete cascade,
      public_key bytea not null,
      counter bigint not null default 0,
      transports text[] not null default '{}',
      counter_regressed_at timestamptz,
      created_at timestamptz not null default now(),
      last_used_at timestamptz
    )
  `,
  // ed25519 keys (spec 004 phase 2): the raw 32-byte public key; did:key is derived from it.
  sql`
    create table key_credentials (
      account_id uuid primary key references accounts (id) on delete cascade,
      public_key bytea not null unique,
      created_at timestamptz not null default now()
    )
  `,
  // Sessions: how the caller authenticated (step-up needs a fresh, strong authentication), the
  // device it came from (a label from the user agent, never an address), browser or API client.
  // The session's public handle (access tokens' `sid`, the session list): its row id stays internal.
  sql`alter table sessions add column public_id text not null default replace(gen_random_uuid()::text, '-', '')`,
  sql`alter table sessions add constraint sessions_public_id_unique unique (public_id)`,
  sql`alter table sessions add column authenticated_at timestamptz not null default now()`,
  sql`alter table sessions add column step_up_capable boolean not null default false`,
  sql`alter table sessions add column device_label text`,
  sql`alter table sessions add column client text not null default 'browser' check (client in ('browser', 'api'))`,
  // Rotating refresh tokens of API sessions: a used token presented again ends its session.
  sql`
    create table refresh_tokens (
      token_hash bytea primary key,
      session_id uuid not null references sessions (id) on delete cascade,
      created_at timestamptz not null default now(),
      used_at timestamptz
    )
  `,
  sql`create index refresh_tokens_session_idx on refresh_tokens (session_id)`,
  // JWT signing keys, shared by every node: the private half sealed, the public half published.
  sql`
    create table signing_keys (
      kid text primary key,
      public_jwk jsonb not null,
      key_id text not null,
      private_sealed bytea not null,
      created_at timestamptz not null default now(),
      retired_at timestamptz
    )
  `,
  // SmartProfile session wallets (spec 003): one Ethereum key per persona, the private key sealed.
  sql`
    create table persona_wallets (
      persona_id uuid primary key references personas (id) on delete cascade,
      address text not null unique,
      key_id text not null,
      private_sealed bytea not null,
      created_at timestamptz not null default now()
    )
  `,
  // Inferred links carry a confidence score for trust & safety (spec 003 IdentityLink).
  sql`alter table account_links add column confidence real check (confidence between 0 and 1)`,
];

/** Issue 4: every sign-in method as an account, the identity graph's privacy modes, tokens, wallets. */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of SIGN_IN_METHODS) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table if exists persona_wallets, signing_keys, refresh_tokens, key_credentials, passkey_credentials, verifications,
      account_persona_selections, account_identifiers cascade
  `.execute(db);
  await sql`alter table account_links drop column if exists confidence`.execute(db);
  await sql`
    alter table sessions drop column if exists public_id, drop column if exists authenticated_at, drop column if exists step_up_capable,
      drop column if exists device_label, drop column if exists client
  `.execute(db);
  await sql`alter table personas drop column if exists owner_account_id`.execute(db);
  await sql`alter table accounts drop column if exists verified, drop column if exists provider, drop column if exists privacy_mode`.execute(db);
}

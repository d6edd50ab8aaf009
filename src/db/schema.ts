import type { ColumnType, Generated } from 'kysely';
import type { RiskLevel } from '../modules/accountability/accountability.js';
import type { AccountType, PrivacyMode } from '../modules/accounts/account.js';
import type { AppealStatus } from '../modules/accountability/appeal.js';
import type { AdminRole } from '../modules/admins/admin.js';
import type { PersonaOrigin, TrustLevel } from '../modules/personas/persona.js';
import type {
  AccountPersonaSelectionsTable,
  PersonaWalletsTable,
  RetiredMethodsTable,
  RefreshTokensTable,
  SigningKeysTable,
  VerificationsTable,
} from './sign-in-schema.js';
import type {
  CitizenshipsTable,
  IdentityAliasesTable,
  InvitationsTable,
  InvitationUsesTable,
  TerritoriesTable,
  TerritoryMovesTable,
  UserIdentitiesTable,
} from './federation-schema.js';

/** A timestamp PostgreSQL fills in; read back as a Date. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;


/** The person as the platform needs to know them. Never leaves through a public API. */
export interface AccountabilityProfilesTable {
  id: Generated<string>;
  abuse_score: ColumnType<number, number | undefined, number>;
  risk_level: ColumnType<RiskLevel, RiskLevel | undefined, RiskLevel>;
  is_verified: ColumnType<boolean, boolean | undefined, boolean>;
  legal_hold: ColumnType<boolean, boolean | undefined, boolean>;
  banned_at: Timestamp | null;
  ban_reason: string | null;
  created_at: CreatedAt;
}

/** One way to sign in. `lookup_key` is a keyed hash of the identifier, never the identifier itself. */
export interface AccountsTable {
  id: Generated<string>;
  type: AccountType;
  lookup_key: Buffer;
  accountability_profile_id: string;
  created_at: CreatedAt;
  /** False for an email given with a password and never proven (a code proves it). */
  verified: ColumnType<boolean, boolean | undefined, boolean>;
  /** The issuer's configured name, for social accounts. */
  provider: ColumnType<string | null, string | null | undefined, string | null>;
  privacy_mode: ColumnType<PrivacyMode, PrivacyMode | undefined, PrivacyMode>;
}

export interface PersonasTable {
  id: Generated<string>;
  accountability_profile_id: string;
  display_name: string;
  /** The display name folded for comparison; unique among live personas. */
  display_name_key: string;
  avatar_url: string | null;
  /** The public pseudonym of this persona (`<key id>.<mac>`), fixed at creation. */
  author_id: string;
  trust_level: ColumnType<TrustLevel, TrustLevel | undefined, TrustLevel>;
  is_active: ColumnType<boolean, boolean | undefined, boolean>;
  deleted_at: Timestamp | null;
  created_at: CreatedAt;
  /** How the persona came to be: the first of its person, created by request, or by rotation. */
  origin: ColumnType<PersonaOrigin, PersonaOrigin | undefined, never>;
  rotated_from: ColumnType<string | null, string | null | undefined, string | null>;
  trust_granted_at: ColumnType<Date, Date | string | undefined, Date | string>;
  deactivated_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** When the purge job may hard-delete it (holds and open appeals still stop it). */
  purge_after: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** The account that made it (spec 003 createdByAccountId); privacy modes start from it. */
  owner_account_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Which accounts may act as which personas. */
export interface PersonaAccessTable {
  account_id: string;
  persona_id: string;
}

export interface SessionsTable {
  id: Generated<string>;
  /** Keyed hash of the session token; the token itself is never stored. */
  token_hash: Buffer;
  account_id: string;
  active_persona_id: string | null;
  created_at: CreatedAt;
  /** The absolute end of the session; null for a guest's anonymous session, which lives as long as its cookie. */
  expires_at: Timestamp | null;
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** A signed-in session ends after this long without use; null for a guest's. */
  idle_timeout_seconds: ColumnType<number | null, number | null | undefined, number | null>;
  /** The public handle: access tokens' `sid` and the session list's id (the row id stays internal). */
  public_id: ColumnType<string, never, never>;
  /** When the session's sign-in (or its latest step-up) happened. */
  authenticated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** False when that authentication cannot satisfy step-up (a guest, an email code). */
  step_up_capable: ColumnType<boolean, boolean | undefined, boolean>;
  client: ColumnType<'browser' | 'api', 'browser' | 'api' | undefined, never>;
}

/** Two accounts known to be one person. `inferred` links are internal signals and never grant access. */
export interface AccountLinksTable {
  id: Generated<string>;
  from_account_id: string;
  to_account_id: string;
  kind: 'inferred' | 'direct';
  privacy_mode: PrivacyMode | null;
  created_at: CreatedAt;
  /** For inferred links: how sure the signal is (0–1). */
  confidence: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface DisplayNameHoldsTable {
  display_name_key: string;
  accountability_profile_id: string;
  held_until: Timestamp;
}

export interface PoliciesTable {
  name: string;
  value: ColumnType<unknown, string, string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface PersonaFlagsTable {
  id: Generated<string>;
  persona_id: string;
  reason: string;
  actor: string;
  created_at: CreatedAt;
}

export interface AppealsTable {
  id: Generated<string>;
  persona_id: string | null;
  accountability_profile_id: string;
  status: ColumnType<AppealStatus, AppealStatus | undefined, AppealStatus>;
  resolution: string | null;
  opened_at: CreatedAt;
  resolved_at: Timestamp | null;
}

export interface AdminTokensTable {
  id: Generated<string>;
  name: string;
  role: AdminRole;
  token_hash: Buffer;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
}

export interface SpaceMembershipsTable {
  space_id: string;
  accountability_profile_id: string;
  persona_id: string;
  joined_at: CreatedAt;
}

export interface OutboxTable {
  id: Generated<string>;
  seq: ColumnType<string, never, never>;
  type: string;
  payload: ColumnType<Record<string, unknown>, string, never>;
  occurred_at: CreatedAt;
  dispatched_at: Timestamp | null;
}

export interface WebhooksTable {
  id: Generated<string>;
  url: string;
  /** The signing secret, sealed under a server key: it must be read back to sign, so it cannot be a hash. */
  secret_sealed: Buffer;
  /** The event types delivered; empty means all. */
  event_types: ColumnType<string[], string[] | undefined, string[]>;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
}

export interface WebhookDeliveriesTable {
  event_id: string;
  webhook_id: string;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  delivered_at: Timestamp | null;
  last_error: string | null;
}

/**
 * Voluntary identification (spec 000). Keyed and encrypted only by material derived from the
 * person's own token; no column refers to any other table, and no timestamp stands in the clear.
 */
/**
 * Where a browser's voluntary identification is kept: its lookup key (derived from the browser's
 * own token) and the territory whose `sealed_identity_links` holds the sealed payload.
 */
export interface IdentityLinksTable {
  lookup_key: Buffer;
  territory_code: string;
}

export interface AppsTable {
  id: Generated<string>;
  name: string;
  api_key_hash: Buffer;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
}

/** The pairwise person hash each app was given, so a ban can be placed by it. */
export interface AppPersonHashesTable {
  app_id: string;
  accountability_profile_id: string;
  person_hash: string;
  created_at: CreatedAt;
}

/** Append-only: the database refuses UPDATE and DELETE on it. */
export interface AuditLogTable {
  id: Generated<string>;
  at: CreatedAt;
  actor: string;
  action: string;
  target: string;
  correlation_id: string;
  detail: ColumnType<Record<string, unknown>, string, never>;
}

export interface Database {
  accountability_profiles: AccountabilityProfilesTable;
  accounts: AccountsTable;
  personas: PersonasTable;
  persona_access: PersonaAccessTable;
  sessions: SessionsTable;
  identity_links: IdentityLinksTable;
  apps: AppsTable;
  app_person_hashes: AppPersonHashesTable;
  audit_log: AuditLogTable;
  account_links: AccountLinksTable;
  display_name_holds: DisplayNameHoldsTable;
  policies: PoliciesTable;
  persona_flags: PersonaFlagsTable;
  appeals: AppealsTable;
  admin_tokens: AdminTokensTable;
  space_memberships: SpaceMembershipsTable;
  outbox: OutboxTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  account_persona_selections: AccountPersonaSelectionsTable;
  verifications: VerificationsTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  persona_wallets: PersonaWalletsTable;
  retired_methods: RetiredMethodsTable;
  territories: TerritoriesTable;
  user_identities: UserIdentitiesTable;
  citizenships: CitizenshipsTable;
  identity_aliases: IdentityAliasesTable;
  territory_moves: TerritoryMovesTable;
  invitations: InvitationsTable;
  invitation_uses: InvitationUsesTable;
}

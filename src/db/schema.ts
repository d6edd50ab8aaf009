import type { ColumnType, Generated } from 'kysely';
import type { RiskLevel } from '../modules/accountability/accountability.js';
import type { AccountType } from '../modules/accounts/account.js';
import type { TrustLevel } from '../modules/personas/persona.js';

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
  /** Null for a guest's anonymous session, which lives as long as its cookie. */
  expires_at: Timestamp | null;
}

/**
 * Voluntary identification (spec 000). Keyed and encrypted only by material derived from the
 * person's own token; no column refers to any other table, and no timestamp stands in the clear.
 */
export interface IdentityLinksTable {
  lookup_key: Buffer;
  sealed: Buffer;
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
}

import type { ColumnType, Generated } from 'kysely';
import type { TerritoryStatus } from '../modules/territories/territory.js';

/** The global tables of federation (spec 004; migration 0005): lookups only, no personal data. */

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Updated = ColumnType<Date, Date | string | undefined, Date | string>;

export interface TerritoriesTable {
  code: string;
  name: string;
  /** Null: the service's own host (PUBLIC_ORIGIN). */
  federation_domain: string | null;
  /** Null: the federation domain. */
  matrix_domain: string | null;
  invite_only: ColumnType<boolean, boolean | undefined, boolean>;
  status: ColumnType<TerritoryStatus, TerritoryStatus | undefined, TerritoryStatus>;
  is_default: ColumnType<boolean, boolean | undefined, never>;
  remote: ColumnType<boolean, boolean | undefined, never>;
  created_at: CreatedAt;
}

/** A handle: issued once, never deleted, never issued again (spec 004 `global.user_identities`). */
export interface UserIdentitiesTable {
  id: string;
  handle: string;
  skeleton: string;
  public_key_hash: string;
  /** SHA-256 of the person's ed25519 key, once they add one (spec 004 phase 2). */
  key_hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** The raw ed25519 key `key_hash` names, for the handle's published did:key (lookup data: migration 0009). */
  key_public: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>;
  /** Null once the persona is purged: the handle stays issued. */
  persona_id: string | null;
  claimed_at: CreatedAt;
  updated_at: Updated;
}

export interface CitizenshipsTable {
  id: Generated<string>;
  accountability_profile_id: string;
  territory_code: string;
  territory_user_id: string;
  is_primary: boolean;
  started_at: CreatedAt;
  ended_at: Timestamp | null;
}

export interface IdentityAliasesTable {
  handle: string;
  territory_code: string;
  created_at: CreatedAt;
}

export type MoveStep = 'started' | 'copied' | 'switched' | 'done';

export interface TerritoryMovesTable {
  id: Generated<string>;
  accountability_profile_id: string;
  from_territory: string;
  to_territory: string;
  dual_citizenship: boolean;
  invitation_id: string | null;
  from_user_id: string;
  to_user_id: string;
  step: ColumnType<MoveStep, MoveStep | undefined, MoveStep>;
  started_at: CreatedAt;
  updated_at: Updated;
  finished_at: Timestamp | null;
  correlation_id: string;
}

export type InvitationKind = 'single_use' | 'group';

export interface InvitationsTable {
  id: Generated<string>;
  territory_code: string;
  token_hash: Buffer;
  kind: InvitationKind;
  max_uses: number | null;
  uses: ColumnType<number, number | undefined, number>;
  expires_at: Timestamp | null;
  invited_handle: string | null;
  has_email: ColumnType<boolean, boolean | undefined, never>;
  created_by_profile: string | null;
  created_by_admin: string | null;
  revoked_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface InvitationUsesTable {
  invitation_id: string;
  accountability_profile_id: string;
  purpose: 'registration' | 'move';
  used_at: CreatedAt;
}

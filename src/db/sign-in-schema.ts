import type { ColumnType, Generated } from 'kysely';

/** The tables of the sign-in methods, tokens and the identity graph (spec 003; migration 0003). */

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** The personas a `partial` account chose to see besides its own. */
export interface AccountPersonaSelectionsTable {
  account_id: string;
  persona_id: string;
}

/** One challenge of one sign-in ceremony; single use (see migration 0003). */
export interface VerificationsTable {
  id: Generated<string>;
  strategy: 'email' | 'wallet' | 'social' | 'passkey' | 'key';
  challenge_hash: Buffer;
  subject_key: Buffer | null;
  state: ColumnType<Record<string, unknown>, string | undefined, string>;
  attempts: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  expires_at: Timestamp;
  consumed_at: Timestamp | null;
}

export interface RefreshTokensTable {
  token_hash: Buffer;
  session_id: string;
  created_at: CreatedAt;
  used_at: Timestamp | null;
}

export interface SigningKeysTable {
  kid: string;
  public_jwk: ColumnType<Record<string, unknown>, string, never>;
  key_id: string;
  private_sealed: Buffer;
  created_at: CreatedAt;
  retired_at: Timestamp | null;
}

/** A persona's session wallet (spec 003 SmartProfile): the private key sealed, never returned. */
export interface PersonaWalletsTable {
  persona_id: string;
  address: string;
  created_at: CreatedAt;
}

/** A method taken off a marked person: its lookup hash passes the mark to its next holder (migration 0004). */
export interface RetiredMethodsTable {
  type: string;
  lookup_key: Buffer;
  accountability_profile_id: string;
  retired_at: CreatedAt;
}

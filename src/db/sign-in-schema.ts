import type { ColumnType, Generated } from 'kysely';

/** The tables of the sign-in methods, tokens and the identity graph (spec 003; migration 0003). */

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** A non-email account's identifier, sealed for the identity graph's masked view. */
export interface AccountIdentifiersTable {
  account_id: string;
  key_id: string;
  sealed: Buffer;
}

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

export interface PasskeyCredentialsTable {
  /** base64url, as WebAuthn gives it. */
  credential_id: string;
  account_id: string;
  public_key: Buffer;
  counter: ColumnType<string, number | string | undefined, number | string>;
  transports: ColumnType<string[], string[] | undefined, string[]>;
  counter_regressed_at: Timestamp | null;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
}

export interface KeyCredentialsTable {
  account_id: string;
  /** The raw 32-byte ed25519 public key. */
  public_key: Buffer;
  created_at: CreatedAt;
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
  key_id: string;
  private_sealed: Buffer;
  created_at: CreatedAt;
}

/** A method taken off a marked person: its lookup hash passes the mark to its next holder (migration 0004). */
export interface RetiredMethodsTable {
  type: string;
  lookup_key: Buffer;
  accountability_profile_id: string;
  retired_at: CreatedAt;
}

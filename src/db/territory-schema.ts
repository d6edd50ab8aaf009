import type { ColumnType } from 'kysely';

/**
 * The tables of one territory's schema (`territory_<code>`): the personal data that must stay in
 * its region. Nothing here refers to a global table by foreign key, because a territory may live on
 * another PostgreSQL server; the global schema points in, never the other way.
 */

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** A person's record in this territory (spec 004 `territory_<code>.users`): the target of a citizenship. */
export interface ResidentsTable {
  id: string;
  accountability_profile_id: string;
  is_active: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  deactivated_at: Timestamp | null;
}

/** One-time recovery codes of an account without email, as keyed hashes; each works once. */
export interface RecoveryCodesTable {
  account_id: string;
  code_hash: Buffer;
  created_at: CreatedAt;
  used_at: Timestamp | null;
}

/** The address an invitation was sent to: sealed, with a keyed hash to match it at redemption. */
export interface InvitationEmailsTable {
  invitation_id: string;
  lookup_key: Buffer;
  key_id: string;
  sealed: Buffer;
  created_at: CreatedAt;
}

/** A sign-in method's identifier (an email address, or another method's), sealed with its key id. */
export interface SealedIdentifierTable {
  account_id: string;
  key_id: string;
  sealed: Buffer;
  created_at: CreatedAt;
}

/** An argon2id hash in PHC string form (the parameters travel with it, so they can be upgraded). */
export interface PasswordCredentialsTable {
  account_id: string;
  hash: string;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** A `key` account's raw 32-byte ed25519 public key (its did:key is derived from it). */
export interface KeyCredentialsTable {
  account_id: string;
  public_key: Buffer;
  created_at: CreatedAt;
}

/** A persona's session-wallet private key, sealed (bound to the persona); the address is global. */
export interface PersonaWalletKeysTable {
  persona_id: string;
  accountability_profile_id: string;
  key_id: string;
  private_sealed: Buffer;
  created_at: CreatedAt;
}

/**
 * A WebAuthn credential of a `passkey` account (one each). Found at sign-in through the account's
 * global lookup key (the keyed hash of `passkey:<credential id>`), never by the raw id globally.
 */
export interface PasskeyCredentialsTable {
  account_id: string;
  /** base64url, as WebAuthn gives it; listed back to the browser in allow and exclude lists. */
  credential_id: string;
  /** The COSE_Key the authenticator gave at registration. */
  public_key: Buffer;
  counter: ColumnType<string, number | string | undefined, number | string>;
  transports: ColumnType<string[], string[] | undefined, string[]>;
  counter_regressed_at: Timestamp | null;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
}

/** The label a signed-in session shows in its person's session list ("Firefox on Linux"), by global session id. */
export interface SessionLabelsTable {
  session_id: string;
  account_id: string;
  label: string;
  created_at: CreatedAt;
}

/** An appeal's statement: the person's own words (the appeal's state is global, for the queue). */
export interface AppealStatementsTable {
  appeal_id: string;
  accountability_profile_id: string;
  statement: string;
  written_at: CreatedAt;
}

/**
 * Voluntary identification (spec 000), sealed under a key derived from the browser's token and
 * found by a lookup key derived from it too: no owner, no timestamp, nothing to join it on.
 */
export interface SealedIdentityLinksTable {
  lookup_key: Buffer;
  sealed: Buffer;
}

export interface TerritoryDatabase {
  residents: ResidentsTable;
  recovery_codes: RecoveryCodesTable;
  invitation_emails: InvitationEmailsTable;
  account_emails: SealedIdentifierTable;
  account_identifiers: SealedIdentifierTable;
  password_credentials: PasswordCredentialsTable;
  key_credentials: KeyCredentialsTable;
  persona_wallet_keys: PersonaWalletKeysTable;
  passkey_credentials: PasskeyCredentialsTable;
  session_labels: SessionLabelsTable;
  appeal_statements: AppealStatementsTable;
  sealed_identity_links: SealedIdentityLinksTable;
}

/** Every table of a territory schema, in the order a move copies them. */
export const TERRITORY_TABLES = ['residents', 'recovery_codes', 'invitation_emails', 'account_emails', 'account_identifiers', 'password_credentials', 'key_credentials', 'persona_wallet_keys',
  'passkey_credentials', 'session_labels', 'appeal_statements', 'sealed_identity_links'] as const satisfies readonly (keyof TerritoryDatabase)[];

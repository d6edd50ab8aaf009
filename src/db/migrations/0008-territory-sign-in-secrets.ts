import { sql, type Kysely } from 'kysely';
import * as signInSecrets from '../territory-migrations/t0002-sign-in-secrets.js';
import { copyBackFromTerritories, copyIntoTerritories } from '../territory-upgrade.js';

/**
 * Data residency for the sign-in secrets that predate territories: sealed emails, sealed identifiers
 * and password hashes leave the global schema for each person's current territory (DESIGN.md §2b).
 * An existing installation upgrades in place: every row is copied, in this one transaction, into the
 * schema of its person's territory (primary citizenship, else the default territory), and only then
 * are the global tables dropped. The global `accounts.lookup_key` stays: lookups need only the hash.
 */
const TABLES = [
  { name: 'account_emails', columns: ['account_id', 'key_id', 'sealed'] },
  { name: 'account_identifiers', columns: ['account_id', 'key_id', 'sealed'] },
  { name: 'password_credentials', columns: ['account_id', 'hash', 'updated_at'] },
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await copyIntoTerritories(db, '0008', TABLES, signInSecrets.up);
  await sql`drop table account_emails, account_identifiers, password_credentials`.execute(db);
}

/** Back to global tables, from the territories in this database (remote ones are not reachable here). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`create table account_emails (account_id uuid primary key references accounts (id) on delete cascade, key_id text not null, sealed bytea not null)`.execute(db);
  await sql`create table account_identifiers (account_id uuid primary key references accounts (id) on delete cascade, key_id text not null, sealed bytea not null)`.execute(db);
  await sql`
    create table password_credentials (
      account_id uuid primary key references accounts (id) on delete cascade, hash text not null, updated_at timestamptz not null default now()
    )`.execute(db);
  await copyBackFromTerritories(db, TABLES);
}

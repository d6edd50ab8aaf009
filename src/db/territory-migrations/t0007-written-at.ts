import { sql, type Kysely } from 'kysely';

/**
 * When a row was written, for the three personal tables that did not say: sealed emails, sealed
 * identifiers and invitation addresses. The orphan sweep (src/modules/orphans) leaves a row alone
 * while a transaction that wrote it may still be in flight, and needs to know how old it is.
 *
 * Rows written before this migration are given the epoch: their writers are long gone, so they
 * count as old at once. New rows get the time of their write. Neither step rewrites the table
 * (a constant default is kept in the catalogue, and so is the new one).
 */
export async function up(db: Kysely<unknown>, schema: string): Promise<void> {
  for (const name of ['account_emails', 'account_identifiers', 'invitation_emails']) {
    const table = sql.table(`${schema}.${name}`);
    await sql`alter table ${table} add column if not exists created_at timestamptz not null default 'epoch'`.execute(db);
    await sql`alter table ${table} alter column created_at set default now()`.execute(db);
  }
}

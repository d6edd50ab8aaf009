import { sql, type Kysely } from 'kysely';

/**
 * Indexes for the prune job (issue 12): it finds delivered events by their dispatch time, ended
 * sessions by their absolute end and idle ones by their last use. The partial indexes leave out the
 * rows they never look for (pending events, guest sessions), so they cost the hot paths little.
 * Verifications already have `verifications_expiry_idx`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index outbox_dispatched_idx on outbox (dispatched_at) where dispatched_at is not null`.execute(db);
  await sql`create index sessions_expiry_idx on sessions (expires_at) where expires_at is not null`.execute(db);
  await sql`create index sessions_idle_idx on sessions (last_seen_at) where idle_timeout_seconds is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists sessions_idle_idx`.execute(db);
  await sql`drop index if exists sessions_expiry_idx`.execute(db);
  await sql`drop index if exists outbox_dispatched_idx`.execute(db);
}

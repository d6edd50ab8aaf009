import { sql, type Kysely } from 'kysely';

/**
 * Indexes for audit log search (`GET /admin/audit`, issue 13). The search pages newest first by row id
 * (`before` is the last id seen), so each equality filter's index ends in `id`: a page is then one
 * backwards range read that stops after `limit` rows, whatever the log's size and however many rows
 * match. `action` uses `text_pattern_ops` so that a family (`person.`, a LIKE prefix) reads a range of
 * it whatever the database's collation; exact actions use it too. The person filter (`person=`) reads
 * the target index once per persona of theirs. Time bounds read `at`. The log is append-only and
 * written only on admin actions, so five indexes cost its writers little.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index audit_log_actor_idx on audit_log (actor, id)`.execute(db);
  await sql`create index audit_log_action_idx on audit_log (action text_pattern_ops, id)`.execute(db);
  await sql`create index audit_log_target_idx on audit_log (target, id)`.execute(db);
  await sql`create index audit_log_correlation_idx on audit_log (correlation_id)`.execute(db);
  await sql`create index audit_log_at_idx on audit_log (at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists audit_log_at_idx`.execute(db);
  await sql`drop index if exists audit_log_correlation_idx`.execute(db);
  await sql`drop index if exists audit_log_target_idx`.execute(db);
  await sql`drop index if exists audit_log_action_idx`.execute(db);
  await sql`drop index if exists audit_log_actor_idx`.execute(db);
}

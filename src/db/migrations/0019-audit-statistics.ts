import { sql, type Kysely } from 'kysely';

/**
 * Fine statistics for the two audit-log columns staff filter by whose values are skewed: a few busy
 * actors and common actions, and many rare ones. The embedded database samples coarsely everywhere
 * (`default_statistics_target=10`, src/db/database.ts); with an MCV list of 10 entries, a rare actor
 * looked as common as a busy one, and the staff search read the whole log backwards instead of
 * `audit_log_actor_idx` (found by test/integration/staff-api.test.ts on a fresh CI run). 100 is
 * PostgreSQL's own default, so on PostgreSQL this changes nothing unless the operator raised it.
 * The audit log is small next to the tables of visitors, so its ANALYZE stays cheap.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table audit_log alter column actor set statistics 100, alter column action set statistics 100`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table audit_log alter column actor set statistics -1, alter column action set statistics -1`.execute(db);
}

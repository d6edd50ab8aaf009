import { sql, type Kysely } from 'kysely';

/**
 * Moves between territories: the cooldown reads a person's last finished move, and the resumer
 * looks for unfinished moves nobody advanced for a while; both by index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index territory_moves_finished_idx on territory_moves (accountability_profile_id, finished_at desc) where finished_at is not null`.execute(db);
  await sql`create index territory_moves_open_idx on territory_moves (updated_at) where step <> 'done'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists territory_moves_open_idx`.execute(db);
  await sql`drop index if exists territory_moves_finished_idx`.execute(db);
}

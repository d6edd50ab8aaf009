import { sql, type Kysely } from 'kysely';

/**
 * Indexes under three references into the two tables that grow with every visitor (a persona and a
 * session per guest), found for issue 12. PostgreSQL indexes a foreign key's target, not its source:
 * without these, each deleted persona or account made its `on delete set null` read every session or
 * every persona, and so did the writes that follow these references themselves. Measured on
 * PostgreSQL 15 with 55,000 guests (EXPLAIN ANALYZE, per deleted row): 6 ms for a persona's sessions,
 * 6.5 ms for its successors, 7 ms for an account's personas; all linear in the table, against a few
 * hundredths of a millisecond through an index.
 *
 * - `sessions.active_persona_id`: the purge deleting a persona (set null), a rotation moving the
 *   sessions that acted as the old persona to its successor.
 * - `personas.rotated_from`: the purge (set null on the successor); moving a handle off a rotated
 *   persona asks whether it has a successor. Few personas are successors, so the index is partial.
 * - `personas.owner_account_id`: deleting an account (identity erasure, a guest brought along by a
 *   link) sets its personas' owner to null; linking and unlinking hand a guest's personas over.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index sessions_active_persona_idx on sessions (active_persona_id)`.execute(db);
  await sql`create index personas_rotated_from_idx on personas (rotated_from) where rotated_from is not null`.execute(db);
  await sql`create index personas_owner_account_idx on personas (owner_account_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists personas_owner_account_idx`.execute(db);
  await sql`drop index if exists personas_rotated_from_idx`.execute(db);
  await sql`drop index if exists sessions_active_persona_idx`.execute(db);
}

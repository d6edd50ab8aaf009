import { sql, type Kysely } from 'kysely';
import * as appealsIdentification from '../territory-migrations/t0006-appeals-identification.js';
import { copyIntoTerritories } from '../territory-upgrade.js';

/**
 * Data residency for the last personal columns of trust & safety and identification, upgraded in
 * place like 0008 (every row copied and checked in this transaction before a column is dropped):
 *
 * - `appeals.statement` (the person's own words) goes to `appeal_statements` in the person's
 *   territory; the appeal's state stays global for the moderators' queue.
 * - `identity_links.sealed` (voluntary identification, spec 000) goes to `sealed_identity_links`.
 *   A row names no owner by design, so its person's territory cannot be known here: existing rows
 *   go to the default territory (where every person without a citizenship lives), and follow the
 *   browser to its person's territory the next time it presents its token (identification-repository.ts).
 *   The global row keeps the lookup key and which territory holds the sealed payload.
 * - `verifications.state` stays global but stops holding anything personal: a key sign-in's
 *   challenge now keeps a keyed hash of the public key, and a social sign-in no longer keeps the
 *   `returnTo` path (the client is told it, and nothing reads it back). Challenges written the old
 *   way live minutes: a pending key challenge is spent (its holder asks for a new one) and its key
 *   dropped; old `returnTo` values are dropped.
 */
const APPEAL_STATEMENTS = {
  name: 'appeal_statements',
  columns: ['appeal_id', 'accountability_profile_id', 'statement', 'written_at'],
  key: 'appeal_id',
  source: sql`
    select a.id as appeal_id, a.accountability_profile_id, a.statement, a.opened_at as written_at, a.accountability_profile_id as owner_profile
    from appeals a`,
} as const;

/** No owner: the territory decision falls to the default territory (see above). */
const SEALED_IDENTITY_LINKS = {
  name: 'sealed_identity_links',
  columns: ['lookup_key', 'sealed'],
  key: 'lookup_key',
  source: sql`select l.lookup_key, l.sealed, null::uuid as owner_profile from identity_links l`,
} as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await copyIntoTerritories(db, '0012', [APPEAL_STATEMENTS, SEALED_IDENTITY_LINKS], appealsIdentification.up);
  await sql`alter table appeals drop column statement`.execute(db);
  await sql`alter table identity_links add column territory_code text`.execute(db);
  await sql`update identity_links set territory_code = (select code from territories where is_default)`.execute(db);
  await sql`alter table identity_links alter column territory_code set not null, drop column sealed`.execute(db);
  await sql`
    update verifications set state = state - 'publicKey', consumed_at = coalesce(consumed_at, now())
    where strategy = 'key' and state ? 'publicKey'`.execute(db);
  await sql`update verifications set state = state - 'returnTo' where strategy = 'social' and state ? 'returnTo'`.execute(db);
}

/** Back to the global columns, from the territories in this database (remote ones are not reachable here). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table appeals add column statement text`.execute(db);
  await sql`alter table identity_links add column sealed bytea`.execute(db);
  const local = (await sql<{ code: string }>`select code from territories where not remote`.execute(db)).rows;
  for (const { code } of local) {
    const statements = sql.table(`territory_${code}.appeal_statements`);
    const sealed = sql.table(`territory_${code}.sealed_identity_links`);
    await sql`update appeals a set statement = s.statement from ${statements} s where s.appeal_id = a.id`.execute(db);
    await sql`update identity_links l set sealed = s.sealed from ${sealed} s where s.lookup_key = l.lookup_key and l.territory_code = ${code}`.execute(db);
    await sql`delete from ${statements}`.execute(db);
    await sql`delete from ${sealed}`.execute(db);
  }
  await sql`update appeals set statement = '' where statement is null`.execute(db);
  await sql`delete from identity_links where sealed is null`.execute(db);
  await sql`alter table appeals alter column statement set not null`.execute(db);
  await sql`alter table identity_links alter column sealed set not null, drop column territory_code`.execute(db);
}

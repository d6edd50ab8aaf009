import { sql } from 'kysely';
import type { Db } from '../../src/db/database.js';

/**
 * SQL checks that a crash or a lost connection left no half-done request behind (DESIGN.md §2.7:
 * state, its event and its audit row commit together or not at all). Each check names the rows
 * that break it; an empty list means the database is whole. They hold for what the fault tests do
 * (guests, registrations, bans); merges and purges would need more cases.
 */
const CHECKS: Record<string, string> = {
  'profile without any account': `
    select p.id from accountability_profiles p
    where not exists (select 1 from accounts a where a.accountability_profile_id = p.id)`,
  'guest account without its session': `
    select a.id from accounts a
    where a.type = 'guest' and not exists (select 1 from sessions s where s.account_id = a.id)`,
  'account without a persona it may act as': `
    select a.id from accounts a
    where not exists (select 1 from persona_access pa where pa.account_id = a.id)`,
  'persona without its owner account': `
    select p.id from personas p
    where not exists (select 1 from accounts a where a.id = p.owner_account_id)`,
  'registered account without its AccountRegistered event': `
    select a.id from accounts a
    where a.type <> 'guest'
      and not exists (select 1 from outbox o where o.type = 'AccountRegistered' and o.payload->>'accountId' = a.id::text)`,
  'AccountRegistered event without its account': `
    select o.id from outbox o
    where o.type = 'AccountRegistered' and not exists (select 1 from accounts a where a.id::text = o.payload->>'accountId')`,
  'registered persona without its PersonaCreated event': `
    select p.id from personas p join accounts a on a.id = p.owner_account_id
    where a.type <> 'guest'
      and not exists (select 1 from outbox o where o.type = 'PersonaCreated' and o.payload->>'personaId' = p.id::text)`,
  'PersonaCreated event without its persona': `
    select o.id from outbox o
    where o.type = 'PersonaCreated' and not exists (select 1 from personas p where p.id::text = o.payload->>'personaId')`,
  'ban without its PersonBanned event': `
    select p.id from accountability_profiles p
    where p.banned_at is not null
      and not exists (select 1 from outbox o where o.type = 'PersonBanned' and o.payload->>'accountabilityProfileId' = p.id::text)`,
  'PersonBanned event without the ban': `
    select o.id from outbox o
    where o.type = 'PersonBanned'
      and not exists (select 1 from accountability_profiles p where p.id::text = o.payload->>'accountabilityProfileId' and p.banned_at is not null)`,
  // Each ban writes one event and one audit row in one transaction: the counts are equal or a half survived.
  'ban events and ban audit rows differ in number': `
    select 'events ' || e.n || ', audit rows ' || a.n as id
    from (select count(*) as n from outbox where type = 'PersonBanned') e,
         (select count(*) as n from audit_log where action = 'ban.place') a
    where e.n <> a.n`,
};

export async function inconsistencies(db: Db): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const [name, query] of Object.entries(CHECKS)) {
    const { rows } = await sql.raw<{ id: string }>(query).execute(db);
    if (rows.length > 0) found[name] = rows.slice(0, 5).map((row) => String(row.id));
  }
  return found;
}

/** How many rows of each kind, to show that the checks had something to check. */
export async function tally(db: Db): Promise<{ guests: number; registered: number; bans: number; events: number }> {
  const { rows } = await sql<{ guests: string; registered: string; bans: string; events: string }>`
    select (select count(*) from accounts where type = 'guest') as guests,
           (select count(*) from accounts where type <> 'guest') as registered,
           (select count(*) from accountability_profiles where banned_at is not null) as bans,
           (select count(*) from outbox) as events`.execute(db);
  const row = rows[0];
  return { guests: Number(row?.guests), registered: Number(row?.registered), bans: Number(row?.bans), events: Number(row?.events) };
}

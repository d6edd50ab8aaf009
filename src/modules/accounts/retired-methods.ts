import type { Tx } from '../../db/database.js';
import { inheritAccountability, lockPerson } from './sign-in-repository.js';

/**
 * Before a person's sign-in methods are removed (unlink, identity deletion), keeps each one's keyed
 * lookup hash with the person, inside the caller's transaction and under the person's lock, so
 * that a ban placed later (on a deleted persona, during its purge period) still reaches them.
 * Nothing readable is kept: not the identifier, not the credential. The purge forgets them once the
 * person is gone for good and carries no mark (purge-repository.ts). Guests are left out: a browser
 * can always drop its anonymous token for a fresh one (clear its cookies), so keeping the token's
 * hash would hold nobody.
 */
export async function retireMethods(trx: Tx, profileId: string, accountIds: readonly string[]): Promise<void> {
  if (accountIds.length === 0) return;
  await trx
    .insertInto('retired_methods')
    .columns(['type', 'lookup_key', 'accountability_profile_id'])
    .expression((eb) =>
      eb
        .selectFrom('accounts')
        .select(['type', 'lookup_key', 'accountability_profile_id'])
        .where('accountability_profile_id', '=', profileId)
        .where('id', 'in', accountIds)
        .where('type', '<>', 'guest'),
    )
    .onConflict((conflict) =>
      conflict.columns(['type', 'lookup_key']).doUpdateSet((eb) => ({
        accountability_profile_id: eb.ref('excluded.accountability_profile_id'),
        retired_at: eb.fn('now'),
      })),
    )
    .execute();
}

/**
 * A method coming back (a first sign-in, a link, a registration) after it was retired: its new
 * holder takes on the old person's stricter accountability, a ban included. The retired row stays,
 * so a ban placed on the old person later still reaches the holder (banHoldersOfRetiredMethods).
 * Inside the transaction that adds the account; true when that bans the holder.
 */
export async function inheritFromRetired(trx: Tx, type: string, lookupKey: Buffer, profileId: string): Promise<boolean> {
  const retired = await trx
    .selectFrom('retired_methods')
    .select('accountability_profile_id as profileId')
    .where('type', '=', type)
    .where('lookup_key', '=', lookupKey)
    .executeTakeFirst();
  if (!retired || retired.profileId === profileId) return false;
  // Both people locked in id order, as every other two-person transaction does (no deadlock).
  const [first, second] = [profileId, retired.profileId].sort();
  const locked = new Map([[first, await lockPerson(trx, first!)], [second, await lockPerson(trx, second!)]]);
  return inheritAccountability(trx, locked.get(retired.profileId)!, locked.get(profileId)!, profileId, 'retired-method');
}

/**
 * A ban just placed on a person reaches whoever holds one of the methods that person gave up,
 * inside the ban's transaction (the banned person already locked). Answers the people it banned.
 */
export async function banHoldersOfRetiredMethods(trx: Tx, profileId: string): Promise<string[]> {
  const holders = await trx
    .selectFrom('retired_methods as r')
    .innerJoin('accounts as a', (join) => join.onRef('a.type', '=', 'r.type').onRef('a.lookup_key', '=', 'r.lookup_key'))
    .select('a.accountability_profile_id as profileId')
    .distinct()
    .where('r.accountability_profile_id', '=', profileId)
    .where('a.accountability_profile_id', '<>', profileId)
    .orderBy('a.accountability_profile_id')
    .execute();
  const banned = await lockPerson(trx, profileId);
  const reached: string[] = [];
  for (const { profileId: holder } of holders) {
    if (await inheritAccountability(trx, banned, await lockPerson(trx, holder), holder, 'retired-method')) reached.push(holder);
  }
  return reached;
}

import type { Tx } from '../../db/database.js';
import type { HeldAccountability } from './guest-inheritance.js';
import { inheritAccountability, lockPerson } from './sign-in-repository.js';

/**
 * Whether a person carries a mark that must outlive their sign-in methods: a ban, a risk above LOW
 * or any abuse score. A clean person's methods are forgotten with them.
 */
export function isMarked(person: HeldAccountability): boolean {
  return person.banned || person.riskLevel !== 'LOW' || person.abuseScore > 0;
}

/**
 * Before a marked person's sign-in methods are removed (unlink, identity deletion), keeps each
 * one's keyed lookup hash with the person, inside the caller's transaction and under the person's
 * lock. Nothing readable is kept: not the identifier, not the credential. Guests are left out: a
 * browser can always drop its anonymous token for a fresh one (clear its cookies), so keeping the
 * token's hash would hold nobody; a guest's ban sticks to the cookie only while it is kept.
 */
export async function retireMethods(trx: Tx, profileId: string, person: HeldAccountability, accountIds: readonly string[]): Promise<void> {
  if (!isMarked(person) || accountIds.length === 0) return;
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
 * A method coming back (a first sign-in, a link, a registration) after it was retired from a marked
 * person: its new holder takes on that person's stricter accountability, a ban included, and the
 * retired row goes (the mark now lives on the new holder). Inside the transaction that adds the
 * account; true when that bans the holder.
 */
export async function inheritFromRetired(trx: Tx, type: string, lookupKey: Buffer, profileId: string): Promise<boolean> {
  const retired = await trx
    .deleteFrom('retired_methods')
    .where('type', '=', type)
    .where('lookup_key', '=', lookupKey)
    .returning('accountability_profile_id as profileId')
    .executeTakeFirst();
  if (!retired || retired.profileId === profileId) return false;
  const holder = await lockPerson(trx, profileId);
  return inheritAccountability(trx, await lockPerson(trx, retired.profileId), holder, profileId, 'retired-method');
}

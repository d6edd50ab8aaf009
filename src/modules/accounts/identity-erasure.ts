import type { Tx } from '../../db/database.js';
import { retireMethods } from './retired-methods.js';

/**
 * The sign-in side of deleting a whole identity, inside the caller's transaction (the person
 * locked): every account goes, and with it (by cascade) its sessions and refresh tokens, links and
 * partial selections. Its sealed email and identifiers, its password, its ed25519 and passkey
 * credentials and its sessions' device labels live in territory schemas, out of a cascade's reach:
 * the caller clears them first (`eraseAll` of the territory rows, whose TABLE_RULES list them —
 * session wallets' sealed keys among them). The wallets' global rows (addresses) go now rather than with their personas' purge. The methods are retired first, so a
 * mark, or a ban placed during the purge period, outlives them (retired-methods.ts); the
 * accountability profile itself stays while its personas await their purge, holding nothing that
 * names anyone.
 */
export async function eraseSignInMethods(trx: Tx, profileId: string): Promise<void> {
  const accounts = await trx.selectFrom('accounts').select('id').where('accountability_profile_id', '=', profileId).execute();
  await retireMethods(trx, profileId, accounts.map((account) => account.id));
  await trx
    .deleteFrom('persona_wallets')
    .where('persona_id', 'in', (eb) => eb.selectFrom('personas').select('id').where('accountability_profile_id', '=', profileId))
    .execute();
  await trx.deleteFrom('accounts').where('accountability_profile_id', '=', profileId).execute();
}

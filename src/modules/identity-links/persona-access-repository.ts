import type { Tx } from '../../db/database.js';
import { accessFor, type GraphAccount, type GraphPersona } from './identity-graph.js';

/** The person's accounts with their modes and selections, and their personas with their makers. */
export async function readGraph(trx: Tx, profileId: string): Promise<{ accounts: GraphAccount[]; personas: GraphPersona[] }> {
  const accountRows = await trx.selectFrom('accounts').select(['id', 'privacy_mode']).where('accountability_profile_id', '=', profileId).execute();
  const ids = accountRows.map((row) => row.id);
  const selections = ids.length === 0 ? [] : await trx.selectFrom('account_persona_selections').select(['account_id', 'persona_id']).where('account_id', 'in', ids).execute();
  const personaRows = await trx.selectFrom('personas').select(['id', 'owner_account_id']).where('accountability_profile_id', '=', profileId).execute();
  return {
    accounts: accountRows.map((row) => ({
      id: row.id,
      privacyMode: row.privacy_mode,
      selected: new Set(selections.filter((selection) => selection.account_id === row.id).map((selection) => selection.persona_id)),
    })),
    personas: personaRows.map((row) => ({ id: row.id, ownerAccountId: row.owner_account_id })),
  };
}

/**
 * Rewrites the person's `persona_access` from the privacy modes (see `accessFor`), inside the
 * caller's transaction, and lets go of active personas a session may no longer act as.
 */
export async function recomputeAccess(trx: Tx, profileId: string): Promise<void> {
  const { accounts, personas } = await readGraph(trx, profileId);
  if (accounts.length === 0) return;
  const access = accessFor(accounts, personas);
  const ids = accounts.map((account) => account.id);
  await trx.deleteFrom('persona_access').where('account_id', 'in', ids).execute();
  const rows = [...access].flatMap(([accountId, personaIds]) => [...personaIds].map((personaId) => ({ account_id: accountId, persona_id: personaId })));
  if (rows.length > 0) await trx.insertInto('persona_access').values(rows).execute();
  await trx
    .updateTable('sessions')
    .set({ active_persona_id: null })
    .where('account_id', 'in', ids)
    .where('active_persona_id', 'is not', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('persona_access as pa')
            .select('pa.persona_id')
            .whereRef('pa.account_id', '=', 'sessions.account_id')
            .whereRef('pa.persona_id', '=', 'sessions.active_persona_id'),
        ),
      ),
    )
    .execute();
}

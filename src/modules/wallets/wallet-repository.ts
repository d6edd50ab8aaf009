import { crossDatabaseTransaction } from '../../db/cross-database-transaction.js';
import type { Db } from '../../db/database.js';
import type { AccountSecretStore } from '../accounts/account-secret-repository.js';

/** A wallet as stored: the address in the clear (global), the private key sealed (in the person's territory). */
export interface NewWallet {
  readonly personaId: string;
  readonly address: string;
  readonly keyId: string;
  readonly sealed: Buffer;
}

export interface WalletRepository {
  /** True when the account may act as the persona and it is live (not deactivated, not deleted). */
  isLiveAccessiblePersona(personaId: string, accountId: string): Promise<boolean>;
  /** The persona's wallet address, or null. */
  findAddress(personaId: string): Promise<string | null>;
  /**
   * Stores the wallet unless the persona has one already (the primary key decides between racing
   * requests). True if this one was stored.
   */
  insert(wallet: NewWallet): Promise<boolean>;
}

export function createWalletRepository(db: Db, secrets: Pick<AccountSecretStore, 'sealWalletKey'>): WalletRepository {
  return {
    async isLiveAccessiblePersona(personaId, accountId) {
      const row = await db
        .selectFrom('persona_access as pa')
        .innerJoin('personas as p', 'p.id', 'pa.persona_id')
        .select('p.id')
        .where('pa.account_id', '=', accountId)
        .where('pa.persona_id', '=', personaId)
        .where('p.is_active', '=', true)
        .where('p.deleted_at', 'is', null)
        .executeTakeFirst();
      return row !== undefined;
    },

    async findAddress(personaId) {
      const row = await db.selectFrom('persona_wallets').select('address').where('persona_id', '=', personaId).executeTakeFirst();
      return row?.address ?? null;
    },

    insert: (wallet) =>
      crossDatabaseTransaction(db, async (trx) => {
        const row = await trx
          .insertInto('persona_wallets')
          .values({ persona_id: wallet.personaId, address: wallet.address })
          .onConflict((conflict) => conflict.column('persona_id').doNothing())
          .returning('persona_id')
          .executeTakeFirst();
        if (!row) return false;
        const persona = await trx.selectFrom('personas').select('accountability_profile_id as profileId').where('id', '=', wallet.personaId).executeTakeFirstOrThrow();
        // Last: a remote territory commits on its own; failing, it rolls the address back with it,
        // and the commit failing deletes it again (see crossDatabaseTransaction).
        await secrets.sealWalletKey(trx, { personaId: wallet.personaId, profileId: persona.profileId }, { keyId: wallet.keyId, sealed: wallet.sealed });
        return true;
      }),
  };
}

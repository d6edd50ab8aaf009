import type { Db } from '../../db/database.js';

/** A wallet as stored: the address in the clear, the private key sealed. */
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

export function createWalletRepository(db: Db): WalletRepository {
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

    async insert(wallet) {
      const row = await db
        .insertInto('persona_wallets')
        .values({ persona_id: wallet.personaId, address: wallet.address, key_id: wallet.keyId, private_sealed: wallet.sealed })
        .onConflict((conflict) => conflict.column('persona_id').doNothing())
        .returning('persona_id')
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}

import type { Db } from '../db/database.js';
import type { TrustLevel } from '../modules/personas/persona.js';

/** Spec 003's SmartProfile: a persona as the account that signed in sees it. */
export interface Profile {
  readonly id: string;
  readonly name: string;
  readonly isActive: boolean;
  readonly trustLevel: TrustLevel;
  /** The persona's session wallet address, once it has one (POST /api/v2/profiles/{id}/session-wallet). */
  readonly sessionWalletAddress: string | null;
}

export interface ProfileRepository {
  /** The live personas an account may act as (its privacy mode applied), `isActive` marking the session's. */
  list(accountId: string, activePersonaId: string | null): Promise<Profile[]>;
}

export function createProfileRepository(db: Db): ProfileRepository {
  return {
    async list(accountId, activePersonaId) {
      const rows = await db
        .selectFrom('persona_access as pa')
        .innerJoin('personas as p', 'p.id', 'pa.persona_id')
        .leftJoin('persona_wallets as w', 'w.persona_id', 'p.id')
        .select(['p.id', 'p.display_name as name', 'p.trust_level as trustLevel', 'w.address as sessionWalletAddress'])
        .where('pa.account_id', '=', accountId)
        .where('p.is_active', '=', true)
        .where('p.deleted_at', 'is', null)
        .orderBy('p.created_at')
        .execute();
      return rows.map((row) => ({ ...row, isActive: row.id === activePersonaId, sessionWalletAddress: row.sessionWalletAddress ?? null }));
    },
  };
}

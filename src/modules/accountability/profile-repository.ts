import type { Tx } from '../../db/database.js';
import type { AccountabilityChanges, AccountabilitySummary, RiskLevel } from './accountability.js';

/*
 * The accountability_profiles row as the trust & safety repositories read and write it, inside
 * their own transactions (accountability changes, appeal resolutions, bans).
 */

export const PROFILE_COLUMNS = ['id', 'abuse_score', 'risk_level', 'is_verified', 'legal_hold', 'banned_at', 'ban_reason', 'created_at'] as const;

type ProfileRow = {
  id: string;
  abuse_score: number;
  risk_level: RiskLevel;
  is_verified: boolean;
  legal_hold: boolean;
  banned_at: Date | null;
  ban_reason: string | null;
  created_at: Date;
};

export const toAccountability = (row: ProfileRow): AccountabilitySummary => ({
  accountabilityProfileId: row.id,
  abuseScore: row.abuse_score,
  riskLevel: row.risk_level,
  verified: row.is_verified,
  legalHold: row.legal_hold,
  banned: row.banned_at !== null,
  bannedAt: row.banned_at ? row.banned_at.toISOString() : null,
  banReason: row.ban_reason,
  createdAt: row.created_at.toISOString(),
});

/** Writes accountability changes inside the caller's transaction; answers the new state, or null. */
export async function applyAccountabilityChanges(trx: Tx, profileId: string, changes: AccountabilityChanges): Promise<AccountabilitySummary | null> {
  const row = await trx
    .updateTable('accountability_profiles')
    .set({
      ...(changes.abuseScore === undefined ? {} : { abuse_score: changes.abuseScore }),
      ...(changes.riskLevel === undefined ? {} : { risk_level: changes.riskLevel }),
      ...(changes.verified === undefined ? {} : { is_verified: changes.verified }),
      ...(changes.legalHold === undefined ? {} : { legal_hold: changes.legalHold }),
    })
    .where('id', '=', profileId)
    .returning(PROFILE_COLUMNS)
    .executeTakeFirst();
  return row ? toAccountability(row) : null;
}


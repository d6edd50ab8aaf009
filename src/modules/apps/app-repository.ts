import type { Db } from '../../db/database.js';
import { appendAudit, type AuditEntry } from '../audit/audit-repository.js';
import type { RiskLevel } from '../accountability/accountability.js';
import type { AppSummary } from './app.js';

export interface AppRepository {
  create(name: string, apiKeyHash: Buffer, audit: Omit<AuditEntry, 'target'>): Promise<AppSummary>;
  list(): Promise<AppSummary[]>;
  revoke(id: string, at: Date, audit: Omit<AuditEntry, 'target'>): Promise<boolean>;
  findActiveByKeyHash(apiKeyHash: Buffer): Promise<{ readonly id: string } | null>;
  isActive(id: string): Promise<boolean>;
  /**
   * In one query: the person hash this app already holds for the person (null if none yet), and
   * the person's risk level, from which the app's review flag is derived (the level itself stays inside).
   */
  findPersonFacts(appId: string, accountabilityProfileId: string): Promise<{ readonly personHash: string | null; readonly riskLevel: RiskLevel }>;
  /** Records a person hash, keeping the first one should two requests race. Returns the one kept. */
  savePersonHash(appId: string, accountabilityProfileId: string, personHash: string): Promise<string>;
}

const toSummary = (row: { id: string; name: string; created_at: Date; revoked_at: Date | null }): AppSummary => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at.toISOString(),
  revoked: row.revoked_at !== null,
});

export function createAppRepository(db: Db): AppRepository {
  const findPersonHash = async (appId: string, accountabilityProfileId: string) => {
    const row = await db
      .selectFrom('app_person_hashes')
      .select('person_hash')
      .where('app_id', '=', appId)
      .where('accountability_profile_id', '=', accountabilityProfileId)
      .executeTakeFirst();
    return row?.person_hash ?? null;
  };

  return {
    create: (name, apiKeyHash, audit) =>
      db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('apps')
          .values({ name, api_key_hash: apiKeyHash })
          .returning(['id', 'name', 'created_at', 'revoked_at'])
          .executeTakeFirstOrThrow();
        await appendAudit(trx, { ...audit, target: row.id });
        return toSummary(row);
      }),

    async list() {
      const rows = await db.selectFrom('apps').select(['id', 'name', 'created_at', 'revoked_at']).orderBy('created_at').execute();
      return rows.map(toSummary);
    },

    revoke: (id, at, audit) =>
      db.transaction().execute(async (trx) => {
        const rows = await trx
          .updateTable('apps')
          .set({ revoked_at: at })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .returning('id')
          .execute();
        if (rows.length > 0) await appendAudit(trx, { ...audit, target: id });
        return rows.length > 0;
      }),

    async findActiveByKeyHash(apiKeyHash) {
      const row = await db
        .selectFrom('apps')
        .select('id')
        .where('api_key_hash', '=', apiKeyHash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return row ?? null;
    },

    async isActive(id) {
      const row = await db.selectFrom('apps').select('id').where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return row !== undefined;
    },

    async findPersonFacts(appId, accountabilityProfileId) {
      const row = await db
        .selectFrom('accountability_profiles as ap')
        .leftJoin('app_person_hashes as aph', (join) =>
          join.onRef('aph.accountability_profile_id', '=', 'ap.id').on('aph.app_id', '=', appId),
        )
        .select(['ap.risk_level as riskLevel', 'aph.person_hash as personHash'])
        .where('ap.id', '=', accountabilityProfileId)
        .executeTakeFirstOrThrow();
      return { personHash: row.personHash, riskLevel: row.riskLevel };
    },

    async savePersonHash(appId, accountabilityProfileId, personHash) {
      await db
        .insertInto('app_person_hashes')
        .values({ app_id: appId, accountability_profile_id: accountabilityProfileId, person_hash: personHash })
        .onConflict((conflict) => conflict.columns(['app_id', 'accountability_profile_id']).doNothing())
        .execute();
      return (await findPersonHash(appId, accountabilityProfileId)) ?? personHash;
    },
  };
}

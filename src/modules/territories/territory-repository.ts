import { isUniqueViolation, type Db } from '../../db/database.js';
import type { TerritoriesTable } from '../../db/federation-schema.js';
import type { Selectable } from 'kysely';
import { appendAudit, type Actor } from '../audit/audit-repository.js';
import type { TerritoryStatus } from './territory.js';

export type TerritoryRow = Selectable<TerritoriesTable>;

export interface NewTerritory {
  readonly code: string;
  readonly name: string;
  readonly federationDomain: string | null;
  readonly matrixDomain: string | null;
  readonly inviteOnly: boolean;
  readonly remote: boolean;
}

export interface TerritoryChanges {
  readonly name?: string;
  readonly federationDomain?: string | null;
  readonly matrixDomain?: string | null;
  readonly inviteOnly?: boolean;
  readonly status?: TerritoryStatus;
}

export interface TerritoryRepository {
  list(): Promise<TerritoryRow[]>;
  find(code: string): Promise<TerritoryRow | null>;
  /** Null when the code or the federation domain is taken. */
  create(territory: NewTerritory, actor: Actor): Promise<TerritoryRow | 'code-taken' | 'domain-taken'>;
  update(code: string, changes: TerritoryChanges, actor: Actor): Promise<TerritoryRow | null | 'domain-taken'>;
}

export function createTerritoryRepository(db: Db): TerritoryRepository {
  return {
    list: () => db.selectFrom('territories').selectAll().orderBy('created_at').orderBy('code').execute(),

    async find(code) {
      return (await db.selectFrom('territories').selectAll().where('code', '=', code).executeTakeFirst()) ?? null;
    },

    async create(territory, actor) {
      try {
        return await db.transaction().execute(async (trx) => {
          const row = await trx
            .insertInto('territories')
            .values({
              code: territory.code,
              name: territory.name,
              federation_domain: territory.federationDomain,
              matrix_domain: territory.matrixDomain,
              invite_only: territory.inviteOnly,
              remote: territory.remote,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          await appendAudit(trx, { ...actor, action: 'territory.create', target: territory.code, detail: { remote: territory.remote } });
          return row;
        });
      } catch (error) {
        if (isUniqueViolation(error, 'territories_pkey')) return 'code-taken';
        if (isUniqueViolation(error, 'territories_federation_domain_key')) return 'domain-taken';
        throw error;
      }
    },

    async update(code, changes, actor) {
      try {
        return await db.transaction().execute(async (trx) => {
          const row = await trx
            .updateTable('territories')
            .set({
              ...(changes.name === undefined ? {} : { name: changes.name }),
              ...(changes.federationDomain === undefined ? {} : { federation_domain: changes.federationDomain }),
              ...(changes.matrixDomain === undefined ? {} : { matrix_domain: changes.matrixDomain }),
              ...(changes.inviteOnly === undefined ? {} : { invite_only: changes.inviteOnly }),
              ...(changes.status === undefined ? {} : { status: changes.status }),
            })
            .where('code', '=', code)
            .returningAll()
            .executeTakeFirst();
          if (!row) return null;
          await appendAudit(trx, { ...actor, action: 'territory.update', target: code, detail: { ...changes } });
          return row;
        });
      } catch (error) {
        if (isUniqueViolation(error, 'territories_federation_domain_key')) return 'domain-taken';
        throw error;
      }
    },
  };
}

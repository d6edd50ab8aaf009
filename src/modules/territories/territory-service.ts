import type { TerritoryDatabases } from '../../db/territory-databases.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../audit/audit-repository.js';
import type { NewTerritory, TerritoryChanges, TerritoryRepository, TerritoryRow } from './territory-repository.js';
import type { Territory } from './territory.js';

export interface TerritoryService {
  list(): Promise<Territory[]>;
  /** The territory, or 404 TERRITORY_NOT_FOUND. */
  get(code: string): Promise<Territory>;
  /** The territory whose federation domain (or code) is `host`, for WebFinger; null if none. */
  byDomain(host: string): Promise<Territory | null>;
  /** The home of everyone who never chose another. */
  defaultTerritory(): Promise<Territory>;
  create(input: Omit<NewTerritory, 'remote'>, actor: Actor): Promise<Territory>;
  update(code: string, changes: TerritoryChanges, actor: Actor): Promise<Territory>;
}

export interface TerritoryServiceDeps {
  readonly territories: TerritoryRepository;
  readonly databases: TerritoryDatabases;
  /** The service's own host: the domain of a territory that names none. */
  readonly publicHost: string;
}

export function createTerritoryService({ territories, databases, publicHost }: TerritoryServiceDeps): TerritoryService {
  const view = (row: TerritoryRow): Territory => {
    const federationDomain = row.federation_domain ?? publicHost;
    return {
      code: row.code,
      name: row.name,
      federationDomain,
      matrixDomain: row.matrix_domain ?? federationDomain,
      inviteOnly: row.invite_only,
      status: row.status,
      isDefault: row.is_default,
      remote: row.remote,
      createdAt: row.created_at,
    };
  };
  const notFound = () => new AppError('TERRITORY_NOT_FOUND', 'There is no territory with this code.');
  const domainTaken = () => new AppError('TERRITORY_EXISTS', 'Another territory already answers for this federation domain.');

  return {
    list: async () => (await territories.list()).map(view),

    async get(code) {
      const row = await territories.find(code);
      if (!row) throw notFound();
      return view(row);
    },

    async byDomain(host) {
      const all = (await territories.list()).map(view);
      return all.find((territory) => territory.federationDomain === host) ?? all.find((territory) => territory.code === host) ?? null;
    },

    async defaultTerritory() {
      const found = (await territories.list()).find((row) => row.is_default);
      if (!found) throw new Error('no default territory: the federation migration did not run');
      return view(found);
    },

    async create(input, actor) {
      const remote = databases.isRemote(input.code);
      // The schema first (idempotent): a territory row never points at a schema that is not there.
      await databases.prepare(input.code);
      const row = await territories.create({ ...input, remote }, actor);
      if (row === 'code-taken') throw new AppError('TERRITORY_EXISTS', 'A territory with this code exists already.');
      if (row === 'domain-taken') throw domainTaken();
      return view(row);
    },

    async update(code, changes, actor) {
      const row = await territories.update(code, changes, actor);
      if (row === 'domain-taken') throw domainTaken();
      if (!row) throw notFound();
      return view(row);
    },
  };
}

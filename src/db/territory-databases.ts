import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { schemaOf } from '../modules/territories/territory.js';
import { undoIfAborted } from './cross-database-transaction.js';
import type { Db, Tx } from './database.js';
import { migrateTerritory } from './territory-migrate.js';
import type { TerritoryDatabase } from './territory-schema.js';

export type TerritoryDb = Kysely<TerritoryDatabase>;

/**
 * Where each territory's schema lives: in the global database (the embedded default, and any
 * territory without a URL), or on its own PostgreSQL server (`TERRITORY_DATABASE_URLS`). The only
 * way into a territory schema: every query gets its Kysely here.
 */
export interface TerritoryDatabases {
  /**
   * The territory's schema. Given the global transaction, a territory in the global database joins
   * it (one commit for both); a remote one cannot, and its writes commit on their own.
   */
  of(code: string, trx?: Tx): TerritoryDb;
  /**
   * After a write to the territory inside the global transaction `trx`: a remote territory has
   * committed it already, so this is how to take it back should `trx` not commit (see
   * crossDatabaseTransaction). Nothing for a territory in the global database: the rollback does it.
   */
  undoIfAborted(code: string, trx: Tx, undo: (territory: TerritoryDb) => Promise<unknown>): void;
  /** True when the territory's schema is in the global database (its writes can share a transaction). */
  sharesGlobalDatabase(code: string): boolean;
  /** Whether a URL is configured for the code (a territory created with it lives there). */
  isRemote(code: string): boolean;
  /** Creates the territory's schema where it lives and applies its migrations; idempotent. */
  prepare(code: string): Promise<void>;
  close(): Promise<void>;
}

export function openTerritoryDatabases(global: Db, urls: Readonly<Record<string, string>>, poolSize = 5): TerritoryDatabases {
  const servers = new Map<string, Kysely<any>>();
  const serverOf = (code: string): Kysely<any> | undefined => {
    const url = urls[code];
    if (!url) return undefined;
    let server = servers.get(code);
    if (!server) {
      const pool = new pg.Pool({ connectionString: url, max: poolSize });
      pool.on('error', () => undefined);
      server = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
      servers.set(code, server);
    }
    return server;
  };
  return {
    of(code, trx) {
      const schema = schemaOf(code);
      const server = serverOf(code);
      return (server ?? trx ?? global).withSchema(schema) as unknown as TerritoryDb;
    },
    undoIfAborted(code, trx, undo) {
      const server = serverOf(code);
      if (server) undoIfAborted(trx, () => undo(server.withSchema(schemaOf(code)) as unknown as TerritoryDb));
    },
    sharesGlobalDatabase: (code) => urls[code] === undefined,
    isRemote: (code) => urls[code] !== undefined,
    async prepare(code) {
      await migrateTerritory(serverOf(code) ?? global, code);
    },
    async close() {
      await Promise.all([...servers.values()].map((server) => server.destroy()));
      servers.clear();
    },
  };
}

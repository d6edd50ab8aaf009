import { ConfigError } from '../../config.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import type { TerritoryService } from './territory-service.js';

/**
 * At start: a territory created on its own server must still have its URL (or its people's data
 * would silently be looked for in the wrong place), a URL may not re-home a territory whose data is
 * in the global database, and every remote schema is brought to its latest migration.
 */
export async function checkTerritoryPlacement(territories: TerritoryService, databases: TerritoryDatabases): Promise<void> {
  for (const territory of await territories.list()) {
    if (territory.remote && !databases.isRemote(territory.code)) {
      throw new ConfigError(`Territory ${territory.code} lives on its own server: give its URL in TERRITORY_DATABASE_URLS.`);
    }
    if (!territory.remote && databases.isRemote(territory.code)) {
      throw new ConfigError(`TERRITORY_DATABASE_URLS names ${territory.code}, whose data is in the global database; moving a territory's server is not supported.`);
    }
    if (territory.remote) await databases.prepare(territory.code);
  }
}

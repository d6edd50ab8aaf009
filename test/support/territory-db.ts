import type { Kysely } from 'kysely';
import type { Db } from '../../src/db/database.js';
import type { TerritoryDatabase } from '../../src/db/territory-schema.js';

/** A territory schema kept in the test's global database (the default territory is `main`). */
export const territoryDb = (db: Db, code = 'main'): Kysely<TerritoryDatabase> => db.withSchema(`territory_${code}`) as unknown as Kysely<TerritoryDatabase>;

import { sql } from 'kysely';
import type { DatabaseHandle, Db } from './database.js';

/** What one round did: tables whose statistics were refreshed, and tables vacuumed. */
export interface MaintenanceReport {
  readonly analyzed: number;
  readonly vacuumed: number;
}

export interface TableMaintenance {
  /**
   * Analyzes (and vacuums) every table that autovacuum would have by now, when autovacuum does not
   * run on this database; otherwise does nothing. One node at a time.
   */
  run(): Promise<MaintenanceReport>;
}

interface DueTable {
  schema: string;
  table: string;
  vacuum: boolean;
  analyze: boolean;
}

/** Advisory-lock key of the round (`pg_try_advisory_lock(class, key)`), apart from any other use. */
const LOCK_CLASS = 0x6d61696e; // "main"
const LOCK_KEY = 1;

/**
 * Autovacuum's own rules (PostgreSQL's "The Autovacuum Daemon"), with the server's settings: a table
 * is analyzed once more rows changed since its last analyze than `threshold + scale × rows`, and
 * vacuumed once it holds more dead rows than that (or, since PostgreSQL 13, more rows inserted since
 * its last vacuum). Per-table storage options are not read: this stands in only where nothing
 * maintains the tables at all.
 */
const DUE_TABLES = sql<DueTable>`
  with settings as (
    select current_setting('autovacuum_vacuum_threshold')::float8 as vacuum_base,
      current_setting('autovacuum_vacuum_scale_factor')::float8 as vacuum_scale,
      current_setting('autovacuum_vacuum_insert_threshold')::float8 as insert_base,
      current_setting('autovacuum_vacuum_insert_scale_factor')::float8 as insert_scale,
      current_setting('autovacuum_analyze_threshold')::float8 as analyze_base,
      current_setting('autovacuum_analyze_scale_factor')::float8 as analyze_scale
  ), tables as (
    select s.schemaname as schema, s.relname as table, greatest(c.reltuples, 0) as rows,
      s.n_dead_tup as dead, s.n_ins_since_vacuum as inserted, s.n_mod_since_analyze as modified
    from pg_stat_user_tables s join pg_class c on c.oid = s.relid
  )
  select t.schema, t.table,
    t.dead > vacuum_base + vacuum_scale * t.rows or (insert_base >= 0 and t.inserted > insert_base + insert_scale * t.rows) as vacuum,
    t.modified > analyze_base + analyze_scale * t.rows as analyze
  from tables t cross join settings
  where t.dead > vacuum_base + vacuum_scale * t.rows
    or (insert_base >= 0 and t.inserted > insert_base + insert_scale * t.rows)
    or t.modified > analyze_base + analyze_scale * t.rows
  order by t.schema, t.table
`;

/**
 * Table statistics and vacuuming where autovacuum does not run: the embedded database (PGlite runs
 * PostgreSQL in single-user mode, where no autovacuum launcher exists, though `autovacuum` reads
 * `on`), and a PostgreSQL server with `autovacuum = off`. Without statistics the planner falls back
 * on default selectivities that make "this account's personas" look like a few rows among all live
 * personas, and answers it by reading every persona: issue 12's soak found GET /personas and
 * sign-in growing with the number of guests (21 and 81 ms at 55,000 personas, 0.1 and 0.04 ms once
 * analyzed). Where autovacuum runs, this does nothing: an application's ANALYZE would only contend
 * with autovacuum's own.
 */
export function createTableMaintenance(database: Pick<DatabaseHandle, 'db' | 'kind'>): TableMaintenance {
  const { db, kind } = database;

  async function autovacuumRuns(): Promise<boolean> {
    if (kind === 'embedded') return false;
    const { rows } = await sql<{ runs: boolean }>`
      select current_setting('autovacuum') = 'on' and current_setting('track_counts') = 'on' as runs`.execute(db);
    return rows[0]?.runs ?? true;
  }

  return {
    async run() {
      const report = { analyzed: 0, vacuumed: 0 };
      if (await autovacuumRuns()) return report;
      // Session-level lock on one pinned connection: VACUUM cannot run inside a transaction.
      return db.connection().execute(async (connection) => {
        const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${LOCK_CLASS}::int4, ${LOCK_KEY}::int4) as locked`.execute(connection);
        if (!rows[0]?.locked) return report; // another node is at it
        try {
          const { rows: due } = await DUE_TABLES.execute(connection);
          for (const table of due) {
            if (await maintain(connection, table)) {
              if (table.vacuum) report.vacuumed++;
              if (table.analyze) report.analyzed++;
            }
          }
          return report;
        } finally {
          await sql`select pg_advisory_unlock(${LOCK_CLASS}::int4, ${LOCK_KEY}::int4)`.execute(connection);
        }
      });
    },
  };
}

/** One table's VACUUM and/or ANALYZE; false when the table went away meanwhile (a territory dropped). */
async function maintain(db: Db, { schema, table, vacuum, analyze }: DueTable): Promise<boolean> {
  const name = sql.table(`${schema}.${table}`);
  const command = vacuum ? (analyze ? sql`vacuum (analyze) ${name}` : sql`vacuum ${name}`) : sql`analyze ${name}`;
  try {
    await command.execute(db);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === '42P01') return false; // undefined_table
    throw error;
  }
}

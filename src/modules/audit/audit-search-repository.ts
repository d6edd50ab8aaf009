import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database } from '../../db/schema.js';

/** One row of the audit log as staff read it. */
export interface AuditRecord {
  /** The row's sequence number (as text: a bigint), also the page cursor. */
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly correlationId: string;
  readonly detail: Record<string, unknown>;
}

/** What to look for; every given field must match. */
export interface AuditFilter {
  /** Exact actor (`admin`, `admin-token:<id>`, `app:<id>`). */
  readonly actor?: string;
  /** An action (`ban.place`), or a family of them when it ends in a dot (`person.`). */
  readonly action?: string;
  /** Exact target (`persona:<id>`, `person:<id>`, …). */
  readonly target?: string;
  /** Everything done to a person: rows whose target is the person or any persona of theirs. */
  readonly personId?: string;
  readonly correlationId?: string;
  readonly from?: Date;
  readonly to?: Date;
  /** Rows older than this id (the next page). */
  readonly beforeId?: string;
  readonly limit: number;
}

export interface AuditSearchRepository {
  /** Matching rows, newest first. */
  search(filter: AuditFilter): Promise<AuditRecord[]>;
}

const COLUMNS = ['audit_log.id', 'audit_log.at', 'audit_log.actor', 'audit_log.action', 'audit_log.target', 'audit_log.correlation_id', 'audit_log.detail'] as const;

/** Every filter but the person's, as one condition on a row of the log (named in full: the person's trail joins another table). */
function matches(filter: AuditFilter) {
  return (eb: ExpressionBuilder<Database, 'audit_log'>) => {
    const all: Expression<SqlBool>[] = [];
    if (filter.actor !== undefined) all.push(eb('audit_log.actor', '=', filter.actor));
    if (filter.action !== undefined) {
      // The route allows only [a-z0-9.-] in an action, so the prefix carries no LIKE wildcard of its own.
      all.push(filter.action.endsWith('.') ? eb('audit_log.action', 'like', `${filter.action}%`) : eb('audit_log.action', '=', filter.action));
    }
    if (filter.target !== undefined) all.push(eb('audit_log.target', '=', filter.target));
    if (filter.correlationId !== undefined) all.push(eb('audit_log.correlation_id', '=', filter.correlationId));
    if (filter.from !== undefined) all.push(eb('audit_log.at', '>=', filter.from));
    if (filter.to !== undefined) all.push(eb('audit_log.at', '<', filter.to));
    if (filter.beforeId !== undefined) all.push(eb('audit_log.id', '<', filter.beforeId));
    return eb.and(all);
  };
}

/**
 * The search as one query, newest first. Exported so a test can EXPLAIN it. Each filter has an index of
 * migration 0016 that leads with it and ends in `id`, so a page is a backwards range read from the cursor
 * (`before`) that stops after `limit` rows, never a scan of the log.
 */
export function auditSearchQuery(db: Db, filter: AuditFilter) {
  const personId = filter.personId;
  if (personId === undefined) return db.selectFrom('audit_log').select(COLUMNS).where(matches(filter)).orderBy('id', 'desc').limit(filter.limit);
  // A person's trail is every row naming them or any persona of theirs (a flag or a ban names a persona).
  // Each of those targets gives its newest `limit` rows, read backwards along (target, id), and the
  // page is the newest of them all. A plain `target in (…)` leaves the planner to guess how the rows
  // spread over the log: guessing evenly, it walks the whole log backwards from the newest row to find
  // a person whose rows are all old.
  const targets = db
    .selectNoFrom(sql<string>`${`person:${personId}`}::text`.as('target'))
    .unionAll(db.selectFrom('personas').select(sql<string>`'persona:' || id::text`.as('target')).where('accountability_profile_id', '=', personId));
  return db
    .selectFrom(targets.as('named'))
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('audit_log')
          .select(COLUMNS)
          .whereRef('audit_log.target', '=', 'named.target')
          .where(matches(filter))
          .orderBy('audit_log.id', 'desc')
          .limit(filter.limit)
          .as('row'),
      (join) => join.onTrue(),
    )
    .selectAll('row')
    .orderBy('row.id', 'desc')
    .limit(filter.limit);
}

export function createAuditSearchRepository(db: Db): AuditSearchRepository {
  return {
    async search(filter) {
      const rows = await auditSearchQuery(db, filter).execute();
      return rows.map((row) => ({
        id: String(row.id),
        at: row.at.toISOString(),
        actor: row.actor,
        action: row.action,
        target: row.target,
        correlationId: row.correlation_id,
        detail: row.detail,
      }));
    },
  };
}

import { sql } from 'kysely';
import type { Db } from '../../db/database.js';

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

export function createAuditSearchRepository(db: Db): AuditSearchRepository {
  return {
    async search(filter) {
      let query = db.selectFrom('audit_log').select(['id', 'at', 'actor', 'action', 'target', 'correlation_id', 'detail']);
      if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
      if (filter.action !== undefined) {
        // The route allows only [a-z0-9.-] in an action, so the prefix carries no LIKE wildcard of its own.
        query = filter.action.endsWith('.') ? query.where('action', 'like', `${filter.action}%`) : query.where('action', '=', filter.action);
      }
      if (filter.target !== undefined) query = query.where('target', '=', filter.target);
      const personId = filter.personId;
      if (personId !== undefined) {
        // Actions name what they acted on (a flag or a ban names a persona): the person's trail is all of those.
        query = query.where((eb) =>
          eb.or([
            eb('target', '=', `person:${personId}`),
            eb('target', 'in', eb.selectFrom('personas').select(sql<string>`'persona:' || id::text`.as('target')).where('accountability_profile_id', '=', personId)),
          ]),
        );
      }
      if (filter.correlationId !== undefined) query = query.where('correlation_id', '=', filter.correlationId);
      if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
      if (filter.to !== undefined) query = query.where('at', '<', filter.to);
      if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
      const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
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

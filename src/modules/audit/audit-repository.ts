import type { Tx } from '../../db/database.js';

/** Who is acting, and in which request: what every audited change carries. */
export interface Actor {
  /** `admin`, `app:<id>`, or the system. Never a person's identifier. */
  readonly actor: string;
  readonly correlationId: string;
}

export interface AuditEntry extends Actor {
  readonly action: string;
  /** What was acted on, as the actor named it (a persona id, an author id, an app id). */
  readonly target: string;
  readonly detail?: Record<string, unknown>;
}

/** Takes a transaction, never a bare connection: the audit row commits with the change it records. */
export async function appendAudit(trx: Tx, entry: AuditEntry): Promise<void> {
  await trx
    .insertInto('audit_log')
    .values({
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      correlation_id: entry.correlationId,
      detail: JSON.stringify(entry.detail ?? {}),
    })
    .execute();
}

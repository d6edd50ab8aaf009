/**
 * What an admin token may do. A `moderator` handles people (flags, scores, bans, appeals, holds);
 * an `admin` may also change policies, apps, webhooks and admin tokens.
 */
export type AdminRole = 'admin' | 'moderator';

/** Who is behind an admin request. */
export interface AdminIdentity {
  /** What audit rows name as the actor: `admin` for the bootstrap token, `admin-token:<id>` otherwise. */
  readonly actor: string;
  readonly role: AdminRole;
  /** Whose token it is, as the admin who issued it named it (for the staff console's header). */
  readonly name: string;
}

/** The operator's bootstrap token (config ADMIN_TOKEN): always a full admin. */
export const BOOTSTRAP_ADMIN: AdminIdentity = Object.freeze({ actor: 'admin', role: 'admin', name: 'Operator (ADMIN_TOKEN)' });

/** Stored admin tokens name their kind, so a leaked one is recognizable in a secret scanner. */
export const ADMIN_TOKEN_PREFIX = 'pk_admin_';

/** An admin may do everything a moderator may; a moderator only what needs a moderator. */
export function roleAllows(held: AdminRole, needed: AdminRole): boolean {
  return held === 'admin' || needed === 'moderator';
}

export const actorOfToken = (id: string): string => `admin-token:${id}`;

/** A stored admin token as admins see it: never its hash, never the token. */
export interface AdminTokenSummary {
  readonly id: string;
  readonly name: string;
  readonly role: AdminRole;
  readonly createdAt: string;
  readonly revoked: boolean;
}

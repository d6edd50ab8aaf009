/**
 * What an admin token may do. A `moderator` handles people (flags, scores, bans, appeals, holds);
 * an `admin` may also change policies, apps, webhooks and admin tokens.
 */
export type AdminRole = 'admin' | 'moderator';

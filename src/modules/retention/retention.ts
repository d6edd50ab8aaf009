/**
 * Retention: how long rows that are done with (delivered events, spent or expired sign-in
 * challenges, ended sessions, signing keys no longer published) are kept before the prune job
 * deletes them. Pure rules: the cut-offs follow from the policy and the time, nothing else.
 */

export interface RetentionPolicy {
  /** Delivered events (and their webhook deliveries, delivered or given up) are kept this long after dispatch. */
  readonly eventSeconds: number;
  /** Expired or used challenges, ended sessions and unpublished signing keys are kept this long after their end. */
  readonly expiredSeconds: number;
  /**
   * Email-code sends are limited per recipient by counting the recipient's challenges of the send
   * window: a challenge younger than the window must stay, or pruning would reopen the limit.
   */
  readonly sendWindowSeconds: number;
  /** Retired signing keys stay published this long (tokens they signed may still be alive). */
  readonly signingKeyPublishSeconds: number;
}

/** Rows that ended (or were dispatched) before these instants may go. */
export interface PruneCutoffs {
  readonly events: Date;
  readonly verifications: Date;
  readonly sessions: Date;
  readonly signingKeys: Date;
}

export function pruneCutoffs(policy: RetentionPolicy, now: Date): PruneCutoffs {
  const before = (seconds: number) => new Date(now.getTime() - seconds * 1000);
  return {
    events: before(policy.eventSeconds),
    // A challenge expires after it was made, so "expired before the window began" implies "made before it".
    verifications: before(Math.max(policy.expiredSeconds, policy.sendWindowSeconds)),
    sessions: before(policy.expiredSeconds),
    signingKeys: before(policy.expiredSeconds + policy.signingKeyPublishSeconds),
  };
}

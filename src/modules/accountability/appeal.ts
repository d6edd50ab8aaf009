/** An appeal is open until trust & safety upholds the decision or overturns it. */
export type AppealStatus = 'open' | 'upheld' | 'overturned';

/** How an appeal may end. */
export type AppealOutcome = Exclude<AppealStatus, 'open'>;

/**
 * An appeal as internal tools see it. It stays attached to the persona it was opened for, even
 * after that persona is rotated away (spec 002 edge case 4), and to the person behind it.
 */
export interface Appeal {
  readonly id: string;
  /** Null once the persona has been purged. */
  readonly personaId: string | null;
  readonly accountabilityProfileId: string;
  readonly status: AppealStatus;
  /**
   * The person's own words, read from their territory; null once their data was erased (the
   * appeal itself stays, for the record).
   */
  readonly statement: string | null;
  readonly resolution: string | null;
  readonly openedAt: string;
  readonly resolvedAt: string | null;
}

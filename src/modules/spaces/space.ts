/**
 * A space is named by the community product that owns it (a board, a channel, a DAO): personae
 * keeps only the membership, keyed so that one person holds at most one per space, whichever
 * persona joined (spec 002 edge case 3).
 */
export const SPACE_ID_PATTERN = '^[A-Za-z0-9._:-]{1,100}$';

/** The persona a membership is held by, as the public may see it. */
export interface MemberPersona {
  readonly id: string;
  readonly displayName: string;
}

/** The caller's membership of one space. */
export interface SpaceMembership {
  readonly spaceId: string;
  readonly member: boolean;
  /**
   * The persona that holds the membership; null when not a member, and also when the membership is
   * held by a persona this sign-in cannot act as (another account of the person in `isolated` or
   * `partial` mode) or one that is deactivated or deleted: those stay out of sight.
   */
  readonly persona: MemberPersona | null;
  readonly joinedAt: string | null;
}

/** What the space rules need to know about the caller. */
export interface SpaceCaller {
  readonly accountId: string;
  readonly accountabilityProfileId: string;
  /** The active persona; null when it has been deactivated or deleted. */
  readonly persona: MemberPersona | null;
}

export const notAMember = (spaceId: string): SpaceMembership => ({ spaceId, member: false, persona: null, joinedAt: null });

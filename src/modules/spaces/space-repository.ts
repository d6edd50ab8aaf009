import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';

/** A join, or why there was none: the person is a member already, or the persona is no longer live. */
export type JoinResult =
  | { readonly joined: true; readonly joinedAt: Date }
  | { readonly joined: false; readonly reason: 'already-member' | 'persona-inactive' };

export interface StoredMembership {
  readonly personaId: string;
  readonly displayName: string;
  readonly joinedAt: Date;
  /** Whether the persona is live and the asking account may act as it. */
  readonly visible: boolean;
}

export interface SpaceRepository {
  /**
   * Makes the persona's person a member (event SpaceJoined), in one statement the primary key
   * (space_id, accountability_profile_id) decides: of any number of joins racing for one person,
   * across all their personas, exactly one inserts.
   */
  join(spaceId: string, personaId: string): Promise<JoinResult>;
  /**
   * Ends the person's membership if it is held by a persona the account may act as (event
   * SpaceLeft); answers the persona that held it, or null when there was no such membership.
   */
  leave(spaceId: string, profileId: string, accountId: string): Promise<string | null>;
  find(spaceId: string, profileId: string, accountId: string): Promise<StoredMembership | null>;
}

/** The personas an account may act as. */
const personasOfAccount = (db: Db, accountId: string) =>
  db.selectFrom('persona_access').select('persona_id').where('account_id', '=', accountId);

export function createSpaceRepository(db: Db): SpaceRepository {
  return {
    join: (spaceId, personaId) =>
      db.transaction().execute(async (trx): Promise<JoinResult> => {
        // The person is taken from the persona row itself, and only a live persona joins.
        const inserted = await trx
          .insertInto('space_memberships')
          .columns(['space_id', 'accountability_profile_id', 'persona_id'])
          .expression((eb) =>
            eb
              .selectFrom('personas')
              .select([sql<string>`cast(${spaceId} as text)`.as('space_id'), 'accountability_profile_id', 'id'])
              .where('id', '=', personaId)
              .where('is_active', '=', true)
              .where('deleted_at', 'is', null),
          )
          .onConflict((conflict) => conflict.columns(['space_id', 'accountability_profile_id']).doNothing())
          .returning('joined_at')
          .executeTakeFirst();
        if (inserted) {
          await appendEvent(trx, { type: 'SpaceJoined', payload: { spaceId, personaId } });
          return { joined: true, joinedAt: inserted.joined_at };
        }
        const live = await trx
          .selectFrom('personas')
          .select('id')
          .where('id', '=', personaId)
          .where('is_active', '=', true)
          .where('deleted_at', 'is', null)
          .executeTakeFirst();
        return { joined: false, reason: live ? 'already-member' : 'persona-inactive' };
      }),

    leave: (spaceId, profileId, accountId) =>
      db.transaction().execute(async (trx) => {
        const removed = await trx
          .deleteFrom('space_memberships')
          .where('space_id', '=', spaceId)
          .where('accountability_profile_id', '=', profileId)
          .where('persona_id', 'in', personasOfAccount(trx, accountId))
          .returning('persona_id')
          .executeTakeFirst();
        if (!removed) return null;
        await appendEvent(trx, { type: 'SpaceLeft', payload: { spaceId, personaId: removed.persona_id } });
        return removed.persona_id;
      }),

    async find(spaceId, profileId, accountId) {
      const row = await db
        .selectFrom('space_memberships as m')
        .innerJoin('personas as p', 'p.id', 'm.persona_id')
        .select(['m.persona_id as personaId', 'p.display_name as displayName', 'm.joined_at as joinedAt', 'p.is_active as isActive'])
        .select((eb) => eb('p.deleted_at', 'is', null).as('notDeleted'))
        .select((eb) => eb('m.persona_id', 'in', personasOfAccount(db, accountId)).as('accessible'))
        .where('m.space_id', '=', spaceId)
        .where('m.accountability_profile_id', '=', profileId)
        .executeTakeFirst();
      if (!row) return null;
      return {
        personaId: row.personaId,
        displayName: row.displayName,
        joinedAt: row.joinedAt,
        visible: row.isActive && Boolean(row.notDeleted) && Boolean(row.accessible),
      };
    },
  };
}

import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { isUniqueViolation, type Db, type Tx } from '../../db/database.js';
import type { TerritoryMovesTable } from '../../db/federation-schema.js';
import { AppError } from '../../errors.js';
import { appendEvent } from '../../events/outbox.js';
import { appendAudit } from '../audit/audit-repository.js';
import type { MoveFacts, MoveRecord } from './citizenship.js';

export interface MoveRequest {
  readonly accountabilityProfileId: string;
  readonly to: string;
  readonly dualCitizenship: boolean;
  readonly hasInvitation: boolean;
  readonly correlationId: string;
  readonly now: Date;
}

/** Inside the start transaction: refuses (throws) or lets the move start, redeeming an invitation if one is needed. */
export interface StartDecision {
  decide(facts: Omit<MoveFacts, 'cooldownDays' | 'hasInvitation' | 'canRedeemInvitations' | 'now'>): Promise<void>;
  /** Consumes the invitation in the same transaction as the migration record: a crashed move never burns it twice. */
  redeem(trx: Tx, inviteOnly: boolean): Promise<string | null>;
}

export interface MoveRepository {
  /** The person's unfinished move (at most one: a unique index holds it). */
  openMoveOf(accountabilityProfileId: string): Promise<MoveRecord | null>;
  /** Unfinished moves nobody advanced since `before`: what the periodic job and startup resume. */
  staleOpenMoves(before: Date, limit: number): Promise<MoveRecord[]>;
  /** Writes the migration record (step `started`) after `decision` allowed it, in one transaction. */
  start(request: MoveRequest, decision: StartDecision): Promise<MoveRecord>;
  /** Records the copy as done; a no-op if a resumer got there first. */
  markCopied(moveId: string, now: Date): Promise<void>;
  /**
   * The switch, in one global transaction: the person is locked (FOR UPDATE: every write to their
   * territory waits, see territoryForWrite), `carry` runs (the last copy, under that lock), the new
   * citizenship becomes primary, the old one secondary or ended, each handle keeps its key hash and
   * gains an alias at the old territory; audit row and PersonaMoved. Runs at most once per move (the
   * record is locked and its step checked).
   */
  switchOver(move: MoveRecord, now: Date, carry: (trx: Tx) => Promise<void>): Promise<void>;
  /** Records the move as done; a no-op if it is already. */
  finish(moveId: string, now: Date): Promise<void>;
}

type MoveRow = Selectable<TerritoryMovesTable>;

const recordOf = (row: MoveRow): MoveRecord => ({
  id: row.id,
  accountabilityProfileId: row.accountability_profile_id,
  from: row.from_territory,
  to: row.to_territory,
  dualCitizenship: row.dual_citizenship,
  invitationId: row.invitation_id,
  fromUserId: row.from_user_id,
  toUserId: row.to_user_id,
  step: row.step,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  correlationId: row.correlation_id,
});

/**
 * Serializes everything that changes one person's residency (a move's start and switch, ending a
 * citizenship), and shuts out every write to their territory meanwhile (territoryForWrite).
 */
export async function lockPerson(trx: Tx, accountabilityProfileId: string): Promise<void> {
  await trx.selectFrom('accountability_profiles').select('id').where('id', '=', accountabilityProfileId).forUpdate().executeTakeFirstOrThrow();
}

/** The person's live citizenships with their resident ids. */
export async function liveCitizenships(trx: Tx | Db, accountabilityProfileId: string) {
  return trx
    .selectFrom('citizenships')
    .select(['id', 'territory_code', 'territory_user_id', 'is_primary', 'started_at'])
    .where('accountability_profile_id', '=', accountabilityProfileId)
    .where('ended_at', 'is', null)
    .execute();
}

export function createMoveRepository(db: Db): MoveRepository {
  return {
    async openMoveOf(accountabilityProfileId) {
      const row = await db.selectFrom('territory_moves').selectAll().where('accountability_profile_id', '=', accountabilityProfileId).where('step', '<>', 'done').executeTakeFirst();
      return row ? recordOf(row) : null;
    },

    async staleOpenMoves(before, limit) {
      const rows = await db.selectFrom('territory_moves').selectAll().where('step', '<>', 'done').where('updated_at', '<', before).orderBy('updated_at').limit(limit).execute();
      return rows.map(recordOf);
    },

    async start(request, decision) {
      try {
        return await db.transaction().execute(async (trx) => {
          await lockPerson(trx, request.accountabilityProfileId);
          const target = await trx.selectFrom('territories').select(['code', 'status', 'invite_only']).where('code', '=', request.to).executeTakeFirst();
          const citizenships = await liveCitizenships(trx, request.accountabilityProfileId);
          const primary = citizenships.find((row) => row.is_primary);
          const current = primary?.territory_code ?? (await trx.selectFrom('territories').select('code').where('is_default', '=', true).executeTakeFirstOrThrow()).code;
          const last = await trx
            .selectFrom('territory_moves')
            .select('finished_at')
            .where('accountability_profile_id', '=', request.accountabilityProfileId)
            .where('finished_at', 'is not', null)
            .orderBy('finished_at', 'desc')
            .executeTakeFirst();
          await decision.decide({
            target: target ? { code: target.code, status: target.status, inviteOnly: target.invite_only } : null,
            current,
            lastMoveFinishedAt: last?.finished_at ?? null,
          });
          const invitationId = await decision.redeem(trx, target?.invite_only ?? false);
          // A secondary citizenship in the target keeps its resident row: the move promotes it.
          const secondary = citizenships.find((row) => row.territory_code === request.to);
          const row = await trx
            .insertInto('territory_moves')
            .values({
              accountability_profile_id: request.accountabilityProfileId,
              from_territory: current,
              to_territory: request.to,
              dual_citizenship: request.dualCitizenship,
              invitation_id: invitationId,
              from_user_id: primary?.territory_user_id ?? randomUUID(),
              to_user_id: secondary?.territory_user_id ?? randomUUID(),
              started_at: request.now,
              updated_at: request.now,
              correlation_id: request.correlationId,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          return recordOf(row);
        });
      } catch (error) {
        // Two requests of one person at once: the unique index lets one start.
        if (isUniqueViolation(error, 'territory_moves_one_open')) throw new AppError('MOVE_IN_PROGRESS', 'Another move of yours is under way.');
        throw error;
      }
    },

    async markCopied(moveId, now) {
      await db.updateTable('territory_moves').set({ step: 'copied', updated_at: now }).where('id', '=', moveId).where('step', '=', 'started').execute();
    },

    async switchOver(move, now, carry) {
      await db.transaction().execute(async (trx) => {
        await lockPerson(trx, move.accountabilityProfileId);
        const { step } = await trx.selectFrom('territory_moves').select('step').where('id', '=', move.id).forUpdate().executeTakeFirstOrThrow();
        if (step !== 'copied') return;
        await carry(trx);
        await switchCitizenships(trx, move, now);
        await keepHandlesAsAliases(trx, move);
        await trx.updateTable('territory_moves').set({ step: 'switched', updated_at: now }).where('id', '=', move.id).execute();
        await appendAudit(trx, {
          actor: 'person',
          correlationId: move.correlationId,
          action: 'territory.move',
          target: move.id,
          detail: { from: move.from, to: move.to, dualCitizenship: move.dualCitizenship },
        });
        await appendEvent(trx, {
          type: 'PersonaMoved',
          payload: { accountabilityProfileId: move.accountabilityProfileId, fromTerritory: move.from, toTerritory: move.to, dualCitizenship: move.dualCitizenship, moveId: move.id },
        });
      });
    },

    async finish(moveId, now) {
      await db.updateTable('territory_moves').set({ step: 'done', updated_at: now, finished_at: now }).where('id', '=', moveId).where('step', '=', 'switched').execute();
    },
  };
}

/** The old primary steps down first (one primary at a time, by a unique index), then the new one rises. */
async function switchCitizenships(trx: Tx, move: MoveRecord, now: Date): Promise<void> {
  const profile = move.accountabilityProfileId;
  const old = await trx
    .updateTable('citizenships')
    .set({ is_primary: false, ...(move.dualCitizenship ? {} : { ended_at: now }) })
    .where('accountability_profile_id', '=', profile)
    .where('territory_code', '=', move.from)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  if (Number(old.numUpdatedRows) === 0) {
    // The implicit citizenship of the default territory becomes a row: secondary, or ended for the record.
    await trx
      .insertInto('citizenships')
      .values({ accountability_profile_id: profile, territory_code: move.from, territory_user_id: move.fromUserId, is_primary: false, ended_at: move.dualCitizenship ? null : now })
      .execute();
  }
  const promoted = await trx
    .updateTable('citizenships')
    .set({ is_primary: true })
    .where('accountability_profile_id', '=', profile)
    .where('territory_code', '=', move.to)
    .where('territory_user_id', '=', move.toUserId)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  if (Number(promoted.numUpdatedRows) === 0) {
    await trx.insertInto('citizenships').values({ accountability_profile_id: profile, territory_code: move.to, territory_user_id: move.toUserId, is_primary: true, started_at: now }).execute();
  }
}

/**
 * Every handle of the person keeps its public key hash (it never changes, spec 004) and its old
 * address `handle@<old territory>` stays an alias; an alias at the new territory would now be the
 * current address, so it goes.
 */
async function keepHandlesAsAliases(trx: Tx, move: MoveRecord): Promise<void> {
  const handles = await trx
    .selectFrom('user_identities as u')
    .innerJoin('personas as p', 'p.id', 'u.persona_id')
    .select('u.handle')
    .where('p.accountability_profile_id', '=', move.accountabilityProfileId)
    .execute();
  if (handles.length === 0) return;
  const names = handles.map((row) => row.handle);
  await trx
    .insertInto('identity_aliases')
    .values(names.map((handle) => ({ handle, territory_code: move.from })))
    .onConflict((oc) => oc.columns(['handle', 'territory_code']).doNothing())
    .execute();
  await trx.deleteFrom('identity_aliases').where('handle', 'in', names).where('territory_code', '=', move.to).execute();
}

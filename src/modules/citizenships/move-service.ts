import type { Clock } from '../../clock.js';
import type { Tx } from '../../db/database.js';
import { moveRefusal, type MoveRecord, type MoveStep } from './citizenship.js';
import type { MoveRepository } from './move-repository.js';
import type { TerritoryRowsRepository } from './territory-rows-repository.js';
import type { InvitationRedeemer } from '../invitations/invitation-service.js';

/** Moves into invite-only territories consume their invitation through the invitations module's port. */
export type { InvitationRedeemer };

export interface MoveInput {
  readonly to: string;
  readonly dualCitizenship: boolean;
  readonly invitation?: string | undefined;
}

export interface MoveService {
  /**
   * Moves the person to another territory and answers the finished move. Their own unfinished
   * move, if any, is finished first; then the checks (closed, already there, cooldown, invitation).
   */
  move(accountabilityProfileId: string, input: MoveInput, correlationId: string): Promise<MoveRecord>;
  /** Finishes the person's unfinished move, if they have one, and answers it (null: none). */
  resume(accountabilityProfileId: string): Promise<MoveRecord | null>;
  /** Finishes every move left unfinished for `idleMs` (a crashed node's); answers how many. */
  resumeStale(idleMs: number): Promise<number>;
}

export interface MoveServiceDeps {
  readonly moves: MoveRepository;
  readonly rows: TerritoryRowsRepository;
  readonly cooldownDays: () => Promise<number>;
  readonly clock: Clock;
  /** Runs inside the transaction that writes the migration record. Without it, invite-only territories take no moves. */
  readonly invitations?: InvitationRedeemer | undefined;
  /**
   * Runs after each step has committed (`started` included). Tests throw here to crash the saga at
   * every point, then resume it.
   */
  readonly afterStep?: ((step: MoveStep, move: MoveRecord) => void | Promise<void>) | undefined;
}

/**
 * A move is a saga over two databases that cannot share a transaction: the migration record
 * (`territory_moves.step`) says how far it got, every step is idempotent, and the saga only ever
 * goes forward. Once the record is written (and its invitation consumed) the move is finished by
 * whoever comes next: the person's next request, POST /moves/resume, startup or the periodic job.
 */
export function createMoveService(deps: MoveServiceDeps): MoveService {
  const { moves, rows, clock } = deps;
  // One driver per move in this process: a request and the periodic job never step on each other
  // here; across nodes, the periodic job only takes moves idle for a while, and each step is idempotent anyway.
  const running = new Map<string, Promise<MoveRecord>>();

  const after = async (step: MoveStep, move: MoveRecord) => {
    await deps.afterStep?.(step, move);
  };

  async function steps(move: MoveRecord): Promise<MoveRecord> {
    let step = move.step;
    if (step === 'started') {
      // Copy: the person's rows into the new territory, their resident rows on both sides.
      const person = await rows.personOf(move.accountabilityProfileId);
      await rows.ensureResident(move.from, person, move.fromUserId);
      await rows.ensureResident(move.to, person, move.toUserId);
      // The bulk of the copy, without holding the person: the switch then writes only what changed since.
      await rows.mirror(move.from, move.to, person);
      await moves.markCopied(move.id, clock.now());
      step = 'copied';
      await after(step, move);
    }
    if (step === 'copied') {
      // Under the person's lock, which every write to their territory takes too (territoryForWrite):
      // whatever they wrote in the old territory since the copy is carried, and nothing more can be
      // written there once the switch commits. Their accounts are read again: one may be new.
      await moves.switchOver(move, clock.now(), async (trx) => {
        await rows.mirror(move.from, move.to, await rows.personOf(move.accountabilityProfileId, trx), trx);
      });
      step = 'switched';
      await after(step, move);
    }
    const finishedAt = clock.now();
    if (step === 'switched') {
      if (!move.dualCitizenship) {
        // No copy here: the switch carried every write, and since then the new territory is the
        // person's; copying the old rows again would bring back what they replaced there meanwhile.
        await rows.retire(move.from, await rows.personOf(move.accountabilityProfileId), move.fromUserId);
      }
      await moves.finish(move.id, finishedAt);
      step = 'done';
      await after(step, move);
    }
    return { ...move, step, finishedAt: move.finishedAt ?? finishedAt };
  }

  function drive(move: MoveRecord): Promise<MoveRecord> {
    const inFlight = running.get(move.id);
    if (inFlight) return inFlight;
    const run = steps(move).finally(() => running.delete(move.id));
    running.set(move.id, run);
    return run;
  }

  return {
    async move(accountabilityProfileId, input, correlationId) {
      const open = await moves.openMoveOf(accountabilityProfileId);
      if (open) await drive(open);
      const [cooldownDays, now] = [await deps.cooldownDays(), clock.now()];
      const { invitations } = deps;
      const record = await moves.start(
        { accountabilityProfileId, to: input.to, dualCitizenship: input.dualCitizenship, hasInvitation: input.invitation !== undefined, correlationId, now },
        {
          async decide(facts) {
            const refusal = moveRefusal({ ...facts, cooldownDays, hasInvitation: input.invitation !== undefined, canRedeemInvitations: invitations !== undefined, now });
            if (refusal) throw refusal;
          },
          // Consumed with the migration record, in one transaction: a move that crashes later is
          // resumed from its record and never redeems again. An open territory needs none, so none is spent.
          async redeem(trx, inviteOnly) {
            if (!inviteOnly || input.invitation === undefined || !invitations) return null;
            const { invitationId } = await invitations.redeem(trx, { token: input.invitation, territoryCode: input.to, accountabilityProfileId, purpose: 'move' });
            return invitationId;
          },
        },
      );
      await after('started', record);
      return drive(record);
    },

    async resume(accountabilityProfileId) {
      const open = await moves.openMoveOf(accountabilityProfileId);
      return open ? drive(open) : null;
    },

    async resumeStale(idleMs) {
      const stale = await moves.staleOpenMoves(new Date(clock.now().getTime() - idleMs), 50);
      for (const move of stale) await drive(move);
      return stale.length;
    },
  };
}

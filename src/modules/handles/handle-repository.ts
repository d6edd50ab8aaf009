import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { isUniqueViolation, type Db, type Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import { appendAudit } from '../audit/audit-repository.js';
import type { AccountSecretStore } from '../accounts/account-secret-repository.js';
import { keyHashOf, publicKeyHashOf } from './handle.js';

/** Where a person's ed25519 keys are read from (their territory), for the key hash a new handle carries. */
export type PersonKeys = Pick<AccountSecretStore, 'firstKey'>;

/** A handle as the rules see it: whether it was ever issued, and whether its persona is live. */
export interface HandleRecord {
  readonly handle: string;
  readonly live: boolean;
}

export interface ClaimedHandle {
  readonly handle: string;
  readonly publicKeyHash: string;
  readonly territoryCode: string;
}

export type ClaimResult = ClaimedHandle | 'persona-not-found' | 'persona-has-handle' | 'taken';
export type MoveResult = { readonly handle: string } | 'persona-not-found' | 'no-handle' | 'target-has-handle';

export interface HandleRepository {
  /** The record of a handle, or of the handle whose skeleton it shares. */
  find(handle: string, skeleton: string): Promise<HandleRecord | null>;
  /** Which of these handles (or their skeletons) were ever issued. */
  issued(handles: readonly { handle: string; skeleton: string }[]): Promise<Set<string>>;
  /** The persona's handle, or null. */
  handleOf(personaId: string): Promise<string | null>;
  /** Claims for a live persona the account may act as; the unique indexes decide races. */
  claim(accountId: string, personaId: string, handle: string, skeleton: string, correlationId: string): Promise<ClaimResult>;
  /** Moves a handle between two personas this account may act as (audited); the target must be live and without one. */
  move(accountId: string, fromPersonaId: string, toPersonaId: string, correlationId: string): Promise<MoveResult>;
}

export function createHandleRepository(db: Db, keys: PersonKeys): HandleRepository {
  return {
    async find(handle, skeleton) {
      const row = await db
        .selectFrom('user_identities as u')
        .leftJoin('personas as p', 'p.id', 'u.persona_id')
        .select(['u.handle', sql<boolean>`coalesce(p.is_active and p.deleted_at is null, false)`.as('live')])
        .where((eb) => eb.or([eb('u.handle', '=', handle), eb('u.skeleton', '=', skeleton)]))
        .orderBy(sql`u.handle = ${handle}`, 'desc')
        .executeTakeFirst();
      return row ?? null;
    },

    async issued(candidates) {
      if (candidates.length === 0) return new Set();
      const rows = await db
        .selectFrom('user_identities')
        .select(['handle', 'skeleton'])
        .where((eb) => eb.or([eb('handle', 'in', candidates.map((c) => c.handle)), eb('skeleton', 'in', candidates.map((c) => c.skeleton))]))
        .execute();
      const taken = new Set(rows.flatMap((row) => [row.handle, `~${row.skeleton}`]));
      return new Set(candidates.filter((c) => taken.has(c.handle) || taken.has(`~${c.skeleton}`)).map((c) => c.handle));
    },

    async handleOf(personaId) {
      const row = await db.selectFrom('user_identities').select('handle').where('persona_id', '=', personaId).executeTakeFirst();
      return row?.handle ?? null;
    },

    async claim(accountId, personaId, handle, skeleton, correlationId) {
      try {
        return await db.transaction().execute(async (trx) => {
          // The person first (their row, then the persona's: the order every use case locks in). A
          // key linked or unlinked meanwhile (which locks the person FOR UPDATE) is then either
          // committed before the key hash is read below, or sees this handle when it records its own;
          // so is a territory move's switch, which gives every handle of the person its alias.
          const locked = await lockPersonOf(trx, accountId, personaId);
          const persona = await accessiblePersona(trx, accountId, personaId);
          // A persona that passed to another person meanwhile (a guest merge) is not this claim's to name.
          if (!persona?.live || persona.profileId !== locked) return 'persona-not-found' as const;
          const claimed = await insertHandle(trx, { personaId, profileId: persona.profileId, handle, skeleton }, keys);
          await appendAudit(trx, { actor: 'person', correlationId, action: 'handle.claim', target: personaId, detail: { handle } });
          return claimed;
        });
      } catch (error) {
        if (isUniqueViolation(error, 'user_identities_persona_unique')) return 'persona-has-handle';
        if (isUniqueViolation(error)) return 'taken';
        throw error;
      }
    },

    async move(accountId, fromPersonaId, toPersonaId, correlationId) {
      try {
        return await db.transaction().execute(async (trx) => {
          // The person first, as a claim does: a privacy change (which locks them FOR UPDATE and
          // rewrites persona_access) is then either committed before the access checks below or waits.
          const locked = await lockPersonOf(trx, accountId, toPersonaId);
          const target = await accessiblePersona(trx, accountId, toPersonaId);
          if (!target?.live || target.profileId !== locked) return 'persona-not-found' as const;
          // The source must be this caller's too, not merely the same person's: an isolated account's
          // personas are nobody else's, and a handle passing between them and another account's would
          // tie the two in public. It may be retired (rotated away, deactivated), but not deleted on
          // purpose (a rotated-away persona is retired by its successor, not deleted). Whatever fails
          // answers 'no-handle', as a stranger's persona does, so the refusal tells nothing.
          const source = await trx
            .selectFrom('user_identities as u')
            .innerJoin('personas as p', 'p.id', 'u.persona_id')
            .select(['u.handle'])
            .where('u.persona_id', '=', fromPersonaId)
            .where('p.accountability_profile_id', '=', target.profileId)
            .where((eb) =>
              eb.or([eb('p.deleted_at', 'is', null), eb.exists(eb.selectFrom('personas as next').select('next.id').whereRef('next.rotated_from', '=', 'p.id'))]),
            )
            .where(mayActAsOrSucceeds(accountId, fromPersonaId))
            .forUpdate('u')
            .executeTakeFirst();
          if (!source) return 'no-handle' as const;
          await trx.updateTable('user_identities').set({ persona_id: toPersonaId, updated_at: sql<Date>`now()` }).where('handle', '=', source.handle).execute();
          await appendAudit(trx, { actor: 'person', correlationId, action: 'handle.move', target: source.handle, detail: { fromPersonaId, toPersonaId } });
          await appendEvent(trx, { type: 'HandleMoved', payload: { handle: source.handle, fromPersonaId, toPersonaId, accountabilityProfileId: target.profileId } });
          return { handle: source.handle };
        });
      } catch (error) {
        if (isUniqueViolation(error, 'user_identities_persona_unique')) return 'target-has-handle';
        throw error;
      }
    },
  };
}

/** The persona, when this account may act as it: its person, and whether it is live. */
async function accessiblePersona(trx: Tx, accountId: string, personaId: string) {
  const row = await trx
    .selectFrom('persona_access as pa')
    .innerJoin('personas as p', 'p.id', 'pa.persona_id')
    .select(['p.accountability_profile_id as profileId', sql<boolean>`p.is_active and p.deleted_at is null`.as('live')])
    .where('pa.account_id', '=', accountId)
    .where('pa.persona_id', '=', personaId)
    .forUpdate()
    .executeTakeFirst();
  return row ?? null;
}

/**
 * Whether the account may act as the persona or as one of its successors by rotation. A rotated-away
 * persona keeps its maker, so its access is normally its successor's; but a `partial` account's
 * selection names persona ids, and one that chose the successor should still reach the handle the
 * rotation left behind.
 */
function mayActAsOrSucceeds(accountId: string, personaId: string) {
  return sql<boolean>`exists (
    with recursive chain (id) as (
      select ${personaId}::uuid
      union
      select next.id from personas next join chain on next.rotated_from = chain.id
    )
    select 1 from chain join persona_access pa on pa.persona_id = chain.id where pa.account_id = ${accountId}
  )`;
}

/** Locks the person of a persona this account may act as (FOR NO KEY UPDATE, as territoryForWrite does); their id, or null. */
async function lockPersonOf(trx: Tx, accountId: string, personaId: string): Promise<string | null> {
  const row = await trx
    .selectFrom('accountability_profiles')
    .select('id')
    .where('id', '=', (eb) =>
      eb
        .selectFrom('persona_access as pa')
        .innerJoin('personas as p', 'p.id', 'pa.persona_id')
        .select('p.accountability_profile_id')
        .where('pa.account_id', '=', accountId)
        .where('pa.persona_id', '=', personaId),
    )
    .forNoKeyUpdate()
    .executeTakeFirst();
  return row?.id ?? null;
}

/** The person's current territory: their primary citizenship, else the default territory. */
export async function currentTerritoryOf(trx: Db | Tx, profileId: string): Promise<string> {
  const row = await trx
    .selectFrom('territories as t')
    .leftJoin('citizenships as c', (join) =>
      join.onRef('c.territory_code', '=', 't.code').on('c.accountability_profile_id', '=', profileId).on('c.is_primary', '=', true).on('c.ended_at', 'is', null),
    )
    .select('t.code')
    .where((eb) => eb.or([eb('c.id', 'is not', null), eb('t.is_default', '=', true)]))
    .orderBy(sql`c.id is null`)
    .executeTakeFirstOrThrow();
  return row.code;
}

/**
 * Issues a handle to a persona inside the caller's transaction (registration or a claim): its
 * public key hash fixed now (spec 004), and the person's ed25519 key hash when they have one. The
 * caller holds the person (a claim locks them; a registration made them), so neither their key nor
 * their territory can change before it commits.
 */
export async function insertHandle(trx: Tx, input: { personaId: string; profileId: string; handle: string; skeleton: string }, keys: PersonKeys): Promise<ClaimedHandle> {
  const id = randomUUID();
  const territoryCode = await currentTerritoryOf(trx, input.profileId);
  const publicKeyHash = publicKeyHashOf(input.handle, territoryCode, id);
  const key = await keys.firstKey(trx, input.profileId);
  await trx
    .insertInto('user_identities')
    .values({
      id,
      handle: input.handle,
      skeleton: input.skeleton,
      public_key_hash: publicKeyHash,
      key_hash: key ? keyHashOf(key.publicKey) : null,
      key_public: key?.publicKey ?? null,
      persona_id: input.personaId,
    })
    .execute();
  await appendEvent(trx, { type: 'HandleClaimed', payload: { handle: input.handle, personaId: input.personaId, accountabilityProfileId: input.profileId } });
  return { handle: input.handle, publicKeyHash, territoryCode };
}

/** Once a person adds an ed25519 key, its hash stands beside the placeholder on each of their handles (spec 004 phase 2). */
export async function recordKeyHash(trx: Tx, keyAccountId: string, rawPublicKey: Uint8Array): Promise<void> {
  await trx
    .updateTable('user_identities')
    .set({ key_hash: keyHashOf(rawPublicKey), key_public: Buffer.from(rawPublicKey), updated_at: sql<Date>`now()` })
    .where('key_hash', 'is', null)
    .where('persona_id', 'in', (eb) =>
      eb
        .selectFrom('personas as p')
        .innerJoin('accounts as a', 'a.accountability_profile_id', 'p.accountability_profile_id')
        .select('p.id')
        .where('a.id', '=', keyAccountId),
    )
    .execute();
}

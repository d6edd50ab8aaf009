import { sql, type Selectable } from 'kysely';
import type { SealedEmail } from '../../crypto/email-box.js';
import { crossDatabaseTransaction } from '../../db/cross-database-transaction.js';
import type { Db, Tx } from '../../db/database.js';
import type { InvitationsTable } from '../../db/federation-schema.js';
import type { TerritoryDatabases } from '../../db/territory-databases.js';
import { appendEvent } from '../../events/outbox.js';
import type { RiskLevel } from '../accountability/accountability.js';
import { appendAudit, type Actor } from '../audit/audit-repository.js';
import type { TrustLevel } from '../personas/persona.js';
import type { InvitationKind, RedemptionPurpose } from './invitation.js';

export type InvitationRow = Selectable<InvitationsTable>;

/** Who made an invitation: a person (by their accountability profile) or an operator. */
export type Creator = { readonly profileId: string } | { readonly admin: string };

export interface NewInvitation {
  readonly id: string;
  readonly territoryCode: string;
  readonly tokenHash: Buffer;
  readonly kind: InvitationKind;
  readonly maxUses: number | null;
  readonly expiresAt: Date;
  readonly invitedHandle: string | null;
  /** The invited address as a lookup key and ciphertext, for the territory's own schema. */
  readonly email: { readonly lookupKey: Buffer; readonly sealed: SealedEmail } | null;
  readonly creator: Creator;
}

/** What the policy needs to know of a person about to invite, read fresh (never from a session cache). */
export interface InviterFacts {
  readonly banned: boolean;
  readonly riskLevel: RiskLevel;
  /** The acting persona's trust level; null when it is not live. */
  readonly trustLevel: TrustLevel | null;
  /** Territories of the person's live citizenships; the default territory when they hold none. */
  readonly citizenOf: readonly string[];
}

export interface InvitationRepository {
  inviter(profileId: string, personaId: string | null): Promise<InviterFacts>;
  /** Stores the invitation (and its sealed address in the territory), with event and audit row, in one transaction. */
  create(invitation: NewInvitation, actor: Actor): Promise<InvitationRow>;
  /** Newest first: a person's own, or (no creator) every invitation, of one territory when given. */
  list(filter: { readonly profileId?: string; readonly territoryCode?: string }): Promise<InvitationRow[]>;
  /** Revokes (idempotent): the row, or null when there is none the owner may touch (a profile id; null: an operator). */
  revoke(id: string, ownerProfileId: string | null, actor: Actor): Promise<InvitationRow | null>;
  /** When it was used, oldest first; null when there is no invitation the owner may see. */
  usesOf(id: string, ownerProfileId: string | null): Promise<Date[] | null>;
  /** By token hash, on the caller's transaction when given. */
  findByTokenHash(tokenHash: Buffer, trx?: Tx): Promise<InvitationRow | null>;
  /** The lookup key of the address an invitation was sent to, read in its territory's schema. */
  emailLookupKey(trx: Tx, territoryCode: string, invitationId: string): Promise<Buffer | null>;
  hasUsed(trx: Tx, invitationId: string, profileId: string): Promise<boolean>;
  /**
   * Consumes one use in ONE conditional update: concurrent redemptions queue on the row lock and
   * each re-checks the condition against the committed count, so the cap holds under any race.
   * False when nothing was consumed (revoked, expired or used up meanwhile).
   */
  consume(trx: Tx, invitationId: string, now: Date): Promise<boolean>;
  recordUse(trx: Tx, use: { invitationId: string; territoryCode: string; profileId: string; purpose: RedemptionPurpose }): Promise<void>;
}

export function createInvitationRepository(db: Db, territories: TerritoryDatabases): InvitationRepository {
  const owned = (id: string, ownerProfileId: string | null, executor: Db | Tx = db) =>
    executor
      .selectFrom('invitations')
      .selectAll()
      .where('id', '=', id)
      .$if(ownerProfileId !== null, (query) => query.where('created_by_profile', '=', ownerProfileId));

  return {
    async inviter(profileId, personaId) {
      const person = await db
        .selectFrom('accountability_profiles')
        .select(['risk_level', sql<boolean>`banned_at is not null`.as('banned')])
        .where('id', '=', profileId)
        .executeTakeFirstOrThrow();
      const persona = personaId
        ? await db
            .selectFrom('personas')
            .select('trust_level')
            .where('id', '=', personaId)
            .where('accountability_profile_id', '=', profileId)
            .where('is_active', '=', true)
            .where('deleted_at', 'is', null)
            .executeTakeFirst()
        : undefined;
      const citizenships = await db
        .selectFrom('citizenships')
        .select('territory_code')
        .where('accountability_profile_id', '=', profileId)
        .where('ended_at', 'is', null)
        .execute();
      const citizenOf = citizenships.length > 0
        ? citizenships.map((row) => row.territory_code)
        : (await db.selectFrom('territories').select('code').where('is_default', '=', true).execute()).map((row) => row.code);
      return { banned: person.banned, riskLevel: person.risk_level, trustLevel: persona?.trust_level ?? null, citizenOf };
    },

    create: (invitation, actor) =>
      crossDatabaseTransaction(db, async (trx) => {
        const creator = 'profileId' in invitation.creator ? 'person' : 'admin';
        const row = await trx
          .insertInto('invitations')
          .values({
            id: invitation.id,
            territory_code: invitation.territoryCode,
            token_hash: invitation.tokenHash,
            kind: invitation.kind,
            max_uses: invitation.maxUses,
            expires_at: invitation.expiresAt,
            invited_handle: invitation.invitedHandle,
            has_email: invitation.email !== null,
            created_by_profile: 'profileId' in invitation.creator ? invitation.creator.profileId : null,
            created_by_admin: 'admin' in invitation.creator ? invitation.creator.admin : null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await appendEvent(trx, {
          type: 'InvitationCreated',
          payload: { invitationId: invitation.id, territory: invitation.territoryCode, kind: invitation.kind, createdBy: creator },
        });
        await appendAudit(trx, {
          ...actor,
          action: 'invitation.create',
          target: `invitation:${invitation.id}`,
          detail: {
            territory: invitation.territoryCode,
            kind: invitation.kind,
            maxUses: invitation.maxUses,
            expiresAt: invitation.expiresAt.toISOString(),
            invitedHandle: invitation.invitedHandle,
            hasEmail: invitation.email !== null,
          },
        });
        if (invitation.email) {
          // Last: a remote territory cannot join this transaction, its row commits at once and is
          // deleted again should the invitation not commit (see crossDatabaseTransaction).
          await territories
            .of(invitation.territoryCode, trx)
            .insertInto('invitation_emails')
            .values({
              invitation_id: invitation.id,
              lookup_key: invitation.email.lookupKey,
              key_id: invitation.email.sealed.keyId,
              sealed: invitation.email.sealed.sealed,
            })
            .execute();
          territories.undoIfAborted(invitation.territoryCode, trx, (remote) => remote.deleteFrom('invitation_emails').where('invitation_id', '=', invitation.id).execute());
        }
        return row;
      }),

    list: ({ profileId, territoryCode }) =>
      db
        .selectFrom('invitations')
        .selectAll()
        .$if(profileId !== undefined, (query) => query.where('created_by_profile', '=', profileId!))
        .$if(territoryCode !== undefined, (query) => query.where('territory_code', '=', territoryCode!))
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(500)
        .execute(),

    revoke: (id, ownerProfileId, actor) =>
      db.transaction().execute(async (trx) => {
        const revoked = await trx
          .updateTable('invitations')
          .set({ revoked_at: sql<Date>`now()` })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .$if(ownerProfileId !== null, (query) => query.where('created_by_profile', '=', ownerProfileId))
          .returningAll()
          .executeTakeFirst();
        if (!revoked) return (await owned(id, ownerProfileId, trx).executeTakeFirst()) ?? null;
        await appendEvent(trx, { type: 'InvitationRevoked', payload: { invitationId: id, territory: revoked.territory_code } });
        await appendAudit(trx, { ...actor, action: 'invitation.revoke', target: `invitation:${id}`, detail: { territory: revoked.territory_code } });
        return revoked;
      }),

    async usesOf(id, ownerProfileId) {
      if (!(await owned(id, ownerProfileId).executeTakeFirst())) return null;
      const rows = await db.selectFrom('invitation_uses').select('used_at').where('invitation_id', '=', id).orderBy('used_at').execute();
      return rows.map((row) => row.used_at);
    },

    async findByTokenHash(tokenHash, trx) {
      return (await (trx ?? db).selectFrom('invitations').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()) ?? null;
    },

    async emailLookupKey(trx, territoryCode, invitationId) {
      const row = await territories
        .of(territoryCode, trx)
        .selectFrom('invitation_emails')
        .select('lookup_key')
        .where('invitation_id', '=', invitationId)
        .executeTakeFirst();
      return row ? Buffer.from(row.lookup_key) : null;
    },

    async hasUsed(trx, invitationId, profileId) {
      const row = await trx
        .selectFrom('invitation_uses')
        .select('invitation_id')
        .where('invitation_id', '=', invitationId)
        .where('accountability_profile_id', '=', profileId)
        .executeTakeFirst();
      return row !== undefined;
    },

    async consume(trx, invitationId, now) {
      const row = await trx
        .updateTable('invitations')
        .set((eb) => ({ uses: eb('uses', '+', 1) }))
        .where('id', '=', invitationId)
        .where('revoked_at', 'is', null)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
        .returning('id')
        .executeTakeFirst();
      return row !== undefined;
    },

    async recordUse(trx, use) {
      await trx
        .insertInto('invitation_uses')
        .values({ invitation_id: use.invitationId, accountability_profile_id: use.profileId, purpose: use.purpose })
        .execute();
      await appendEvent(trx, {
        type: 'InvitationRedeemed',
        payload: { invitationId: use.invitationId, territory: use.territoryCode, accountabilityProfileId: use.profileId, purpose: use.purpose },
      });
    },
  };
}

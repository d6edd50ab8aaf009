import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Mailer } from '../../auth/email/mailer.js';
import type { Clock } from '../../clock.js';
import { normalizeEmail, type EmailBox } from '../../crypto/email-box.js';
import { isTokenShaped, newToken, type TokenHasher } from '../../crypto/tokens.js';
import type { Tx } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../audit/audit-repository.js';
import { normalizeHandle } from '../handles/handle.js';
import { evaluate } from '../policy/evaluate.js';
import type { Policies } from '../policy/policy.js';
import type { SessionContext } from '../sessions/session.js';
import type { Territory } from '../territories/territory.js';
import {
  dayOf,
  INVITE_ACTION,
  invitationMail,
  invitationTerms,
  invitationTokenHash,
  invitePolicies,
  inviteLink,
  inviteRefusal,
  REFUSAL_CODES,
  REFUSAL_MESSAGES,
  unusableReason,
  type InvitationKind,
  type RedemptionPurpose,
  type RedemptionRefusal,
} from './invitation.js';
import { qrPng, qrPngDataUrl, qrSvg, type QrFormat } from './invitation-qr.js';
import type { Creator, InvitationRepository, InvitationRow } from './invitation-repository.js';

/** The redemption port: registration and moves call it inside their own global transaction. */
export interface InvitationRedeemer {
  /** Inside the caller's global transaction: checks and consumes one use; throws a typed AppError
   * (INVITATION_INVALID, INVITATION_EXPIRED, INVITATION_USED_UP, INVITATION_REVOKED, INVITATION_MISMATCH)
   * and consumes nothing on refusal (the caller's transaction rolls back). */
  redeem(
    trx: Tx,
    input: {
      token: string;
      territoryCode: string;
      accountabilityProfileId: string;
      purpose: 'registration' | 'move';
      email?: string | null;
      handle?: string | null;
    },
  ): Promise<{ invitationId: string }>;
}

export type InvitationState = 'usable' | 'revoked' | 'expired' | 'used-up';

/** An invitation as its creator (or an operator) sees it: never the token, never the address. */
export interface InvitationView {
  readonly id: string;
  readonly territory: string;
  readonly kind: InvitationKind;
  readonly maxUses: number | null;
  readonly uses: number;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly invitedHandle: string | null;
  readonly hasEmail: boolean;
  readonly createdBy: 'person' | 'admin';
  readonly createdAt: string;
  readonly state: InvitationState;
}

export interface CreatedInvitation {
  readonly invitation: InvitationView;
  /** Shown once, here: only its keyed hash is stored. */
  readonly token: string;
  readonly inviteLink: string;
  readonly qr: { readonly svg: string; readonly png: string };
  /** Null: no address was given; false: the mail could not be handed over (share the link instead). */
  readonly emailSent: boolean | null;
}

export interface InvitationInput {
  readonly territory?: string | undefined;
  readonly kind: InvitationKind;
  readonly maxUses?: number | null | undefined;
  readonly expiresAt?: string | undefined;
  readonly email?: string | undefined;
  readonly handle?: string | undefined;
}

export interface Inspection {
  readonly territory: { readonly code: string; readonly name: string };
  readonly kind: InvitationKind;
  readonly expiresAt: string | null;
  readonly usable: boolean;
  readonly reason?: 'revoked' | 'expired' | 'used-up' | 'territory-closed';
  readonly invitedHandle: string | null;
  readonly emailRequired: boolean;
}

type Person = Pick<SessionContext, 'accountabilityProfileId' | 'persona'>;

export interface InvitationService {
  createByPerson(caller: Person, input: InvitationInput, correlationId: string): Promise<CreatedInvitation>;
  createByOperator(actor: Actor, input: InvitationInput & { territory: string }): Promise<CreatedInvitation>;
  /** A person's own invitations (null), or an operator's view of all, of one territory when given. */
  list(caller: Person | null, territory?: string): Promise<InvitationView[]>;
  revoke(caller: Person | null, id: string, actor: Actor): Promise<InvitationView>;
  /** How often and on which days: never by whom, which would link the inviter to the people they invited. */
  uses(caller: Person | null, id: string): Promise<{ count: number; usedOn: string[] }>;
  inspect(token: string): Promise<Inspection>;
  qr(token: string, format: QrFormat): Promise<string | Buffer>;
  readonly redeemer: InvitationRedeemer;
}

export interface InvitationServiceDeps {
  readonly invitations: InvitationRepository;
  readonly territories: { get(code: string): Promise<Territory> };
  /** A handle an invitation names must be one a person could claim (HANDLE_INVALID, HANDLE_RESERVED). */
  readonly handles: { validate(input: string): Promise<{ handle: string }> };
  readonly policies: () => Promise<Policies>;
  readonly hasher: TokenHasher;
  readonly emails: EmailBox;
  /** Null when mail cannot be delivered (production without SMTP): invitations still work as links. */
  readonly mailer: Mailer | null;
  readonly publicOrigin: string;
  readonly clock: Clock;
}

export function createInvitationService(deps: InvitationServiceDeps): InvitationService {
  const { invitations, territories, hasher, emails, clock } = deps;
  const refuse = (reason: RedemptionRefusal) => new AppError(REFUSAL_CODES[reason], REFUSAL_MESSAGES[reason]);
  const notFound = () => new AppError('INVITATION_NOT_FOUND', 'You have no invitation with this id.');
  const view = (row: InvitationRow): InvitationView => ({
    id: row.id,
    territory: row.territory_code,
    kind: row.kind,
    maxUses: row.max_uses,
    uses: row.uses,
    expiresAt: row.expires_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    invitedHandle: row.invited_handle,
    hasEmail: row.has_email,
    createdBy: row.created_by_admin === null ? 'person' : 'admin',
    createdAt: row.created_at.toISOString(),
    state: stateOf(row),
  });
  const stateOf = (row: InvitationRow): InvitationState =>
    unusableReason({ maxUses: row.max_uses, uses: row.uses, expiresAt: row.expires_at, revokedAt: row.revoked_at }, clock.now()) ?? 'usable';

  /** A stored invitation by its token; INVITATION_INVALID for anything else (a malformed token included). */
  async function byToken(token: string, trx?: Tx): Promise<InvitationRow> {
    const row = isTokenShaped(token) ? await invitations.findByTokenHash(invitationTokenHash(hasher, token), trx) : null;
    if (!row) throw refuse('invalid');
    return row;
  }

  async function create(creator: Creator, territory: Territory, input: InvitationInput, actor: Actor): Promise<CreatedInvitation> {
    const terms = invitationTerms(input, clock.now());
    if (typeof terms === 'string') throw new AppError('VALIDATION_FAILED', terms);
    const invitedHandle = input.handle === undefined ? null : (await deps.handles.validate(input.handle)).handle;
    const email = input.email === undefined ? null : normalizeEmail(input.email);
    const id = randomUUID();
    const token = newToken();
    const stored = await invitations.create(
      {
        id,
        territoryCode: territory.code,
        tokenHash: invitationTokenHash(hasher, token),
        ...terms,
        invitedHandle,
        // Sealed bound to this invitation (its own binding, apart from any account's), so a copied row does not open.
        email: email === null ? null : { lookupKey: emails.lookupKey(email), sealed: emails.seal(`invitation:${id}`, email) },
        creator,
      },
      actor,
    );
    const link = inviteLink(deps.publicOrigin, token);
    const [svg, png] = await Promise.all([qrSvg(link), qrPngDataUrl(link)]);
    // Mailed after the commit: a mail cannot be taken back, an invitation that failed to commit could.
    const emailSent = email === null ? null : await send(email, invitationMail(territory.name, link, terms.expiresAt));
    return { invitation: view(stored), token, inviteLink: link, qr: { svg, png }, emailSent };
  }

  async function send(to: string, mail: { subject: string; text: string }): Promise<boolean> {
    if (!deps.mailer) return false;
    try {
      await deps.mailer.send({ to, ...mail });
      return true;
    } catch {
      // The invitation stands: its creator holds the link and the QR, and is told the mail did not go.
      return false;
    }
  }

  async function openTerritory(code: string, citizenOf: readonly string[], byOperator: boolean): Promise<Territory> {
    const territory = await territories.get(code);
    const refusal = inviteRefusal(territory, citizenOf, byOperator);
    if (refusal === 'closed') throw new AppError('TERRITORY_CLOSED', 'This territory is closed: no one may join it now.');
    if (refusal === 'not-citizen') throw new AppError('INVITATION_REQUIRED', 'Only its own citizens may invite into an invite-only territory.');
    return territory;
  }

  const redeemer: InvitationRedeemer = {
    async redeem(trx, input) {
      const row = await byToken(input.token, trx);
      if (row.territory_code !== input.territoryCode) throw refuse('other-territory');
      const now = clock.now();
      const unusable = unusableReason({ maxUses: row.max_uses, uses: row.uses, expiresAt: row.expires_at, revokedAt: row.revoked_at }, now);
      if (unusable) throw refuse(unusable);
      if (row.invited_handle !== null && (input.handle == null || normalizeHandle(input.handle) !== row.invited_handle)) throw refuse('mismatch');
      if (row.has_email) {
        const stored = await invitations.emailLookupKey(trx, row.territory_code, row.id);
        const given = input.email == null ? null : emails.lookupKey(normalizeEmail(input.email));
        if (!stored || !given || stored.length !== given.length || !timingSafeEqual(stored, given)) throw refuse('mismatch');
      }
      // One person counts once: a second use by the same person would break the (invitation, person) key.
      if (await invitations.hasUsed(trx, row.id, input.accountabilityProfileId)) throw refuse('used-up');
      if (!(await invitations.consume(trx, row.id, now))) {
        // Someone else took the last use, or it was revoked, while we looked: say which.
        const fresh = await invitations.findByTokenHash(row.token_hash, trx);
        const reason = fresh && unusableReason({ maxUses: fresh.max_uses, uses: fresh.uses, expiresAt: fresh.expires_at, revokedAt: fresh.revoked_at }, now);
        throw refuse(reason || 'used-up');
      }
      await invitations.recordUse(trx, {
        invitationId: row.id,
        territoryCode: row.territory_code,
        profileId: input.accountabilityProfileId,
        purpose: input.purpose satisfies RedemptionPurpose,
      });
      return { invitationId: row.id };
    },
  };

  return {
    async createByPerson(caller, input, correlationId) {
      const facts = await invitations.inviter(caller.accountabilityProfileId, caller.persona?.id ?? null);
      const decision = evaluate(facts, INVITE_ACTION, invitePolicies(await deps.policies()), {
        now: clock.now(), livePersonas: 0, recentCreations: [], lastRotationAt: null,
      });
      if (!decision.allowed) throw new AppError(decision.code, decision.reason);
      // Without a territory, a person invites into their current one (their primary citizenship, else the default).
      const code = input.territory ?? facts.citizenOf[0];
      if (!code) throw new Error('a person with no territory at all');
      const territory = await openTerritory(code, facts.citizenOf, false);
      return create({ profileId: caller.accountabilityProfileId }, territory, input, { actor: 'person', correlationId });
    },

    async createByOperator(actor, input) {
      return create({ admin: actor.actor }, await openTerritory(input.territory, [], true), input, actor);
    },

    async list(caller, territory) {
      const rows = await invitations.list({
        ...(caller ? { profileId: caller.accountabilityProfileId } : {}),
        ...(territory === undefined ? {} : { territoryCode: territory }),
      });
      return rows.map(view);
    },

    async revoke(caller, id, actor) {
      const row = await invitations.revoke(id, caller?.accountabilityProfileId ?? null, actor);
      if (!row) throw notFound();
      return view(row);
    },

    async uses(caller, id) {
      const usedAt = await invitations.usesOf(id, caller?.accountabilityProfileId ?? null);
      if (!usedAt) throw notFound();
      return { count: usedAt.length, usedOn: usedAt.map(dayOf) };
    },

    async inspect(token) {
      const row = await byToken(token);
      const territory = await territories.get(row.territory_code);
      const reason = territory.status === 'closed' ? 'territory-closed' : (stateOf(row) === 'usable' ? undefined : stateOf(row) as Exclude<InvitationState, 'usable'>);
      return {
        territory: { code: territory.code, name: territory.name },
        kind: row.kind,
        expiresAt: row.expires_at?.toISOString() ?? null,
        usable: reason === undefined,
        ...(reason === undefined ? {} : { reason }),
        invitedHandle: row.invited_handle,
        emailRequired: row.has_email,
      };
    },

    async qr(token, format) {
      const row = await byToken(token);
      const state = stateOf(row);
      if (state !== 'usable') throw refuse(state);
      const link = inviteLink(deps.publicOrigin, token);
      return format === 'svg' ? qrSvg(link) : qrPng(link);
    },

    redeemer,
  };
}

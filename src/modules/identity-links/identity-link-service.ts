import { randomUUID } from 'node:crypto';
import type { AuthenticateService } from '../../auth/authenticate-service.js';
import { maskIdentifier } from '../../auth/account-identifier.js';
import type { StrategyName } from '../../auth/strategy.js';
import type { DataBox } from '../../crypto/data-box.js';
import type { EmailBox } from '../../crypto/email-box.js';
import { normalizeEmail } from '../../crypto/email-box.js';
import type { TokenHasher } from '../../crypto/tokens.js';
import { AppError } from '../../errors.js';
import type { AccountType, PrivacyMode } from '../accounts/account.js';
import { keyHashOf } from '../handles/handle.js';
import { didKeyOf } from '../../auth/key/did-key.js';
import { holochainAgentKeyOf } from '../../auth/key/holochain-agent-key.js';
import type { SessionContext } from '../sessions/session.js';
import type { StepUpService } from '../step-up/step-up-service.js';
import type { IdentityLinkRepository, StoredGraphAccount } from './identity-link-repository.js';

/** One of the caller's sign-in methods, as the identity graph shows it (no internal id, the identifier masked). */
export interface GraphAccountView {
  /** An opaque handle for link-privacy and unlink; stable, but not the account's id. */
  readonly ref: string;
  readonly type: AccountType;
  readonly identifier: string;
  readonly provider: string | null;
  readonly verified: boolean;
  readonly privacyMode: PrivacyMode;
  /** The personas it chose (partial mode). */
  readonly selectedProfileIds: string[];
  readonly current: boolean;
  readonly createdAt: string;
  /** A `key` account's ed25519 key as did:key, as Holochain's AgentPubKey (`uhCAk…`), and its SHA-256 (spec 004 phase 2); else null. */
  readonly did: string | null;
  readonly agentPubKey: string | null;
  readonly keyHash: string | null;
}

/** A persona this session may act as, with its handle's spec 004 hashes. */
export interface GraphProfileView {
  readonly id: string;
  readonly displayName: string;
  readonly handle: string | null;
  /** SHA-256(handle::territory::uuid), fixed when the handle was claimed. */
  readonly publicKeyHash: string | null;
  /** SHA-256 of the person's ed25519 key, once they have one. */
  readonly keyHash: string | null;
}

export interface GraphLinkView {
  readonly from: string;
  readonly to: string;
  readonly linkType: 'direct';
  readonly privacyMode: PrivacyMode | null;
  readonly createdAt: string;
}

export interface IdentityGraphView {
  readonly accounts: GraphAccountView[];
  readonly links: GraphLinkView[];
  readonly profiles: GraphProfileView[];
}

export interface LinkRequest {
  readonly targetType: StrategyName | 'guest';
  readonly targetIdentifier?: string | undefined;
  readonly privacyMode: PrivacyMode;
  readonly proof: Record<string, unknown>;
}

export interface IdentityLinkService {
  /** Adds a method whose own ceremony just succeeded (or the browser's guest identity) to the caller's person. */
  link(caller: SessionContext, request: LinkRequest, browser: { client: string; anonToken: string | null }): Promise<IdentityGraphView>;
  graph(caller: SessionContext): Promise<IdentityGraphView>;
  setPrivacy(caller: SessionContext, accountRef: string | undefined, mode: PrivacyMode, personaIds: readonly string[]): Promise<IdentityGraphView>;
  unlink(caller: SessionContext, accountRef: string): Promise<IdentityGraphView>;
}

export interface IdentityLinkServiceDeps {
  readonly links: IdentityLinkRepository;
  readonly auth: AuthenticateService;
  readonly hasher: TokenHasher;
  readonly emails: EmailBox;
  readonly identifiers: DataBox;
  readonly stepUp: StepUpService;
  /** The policy's live-persona limit: a guest merge may not take the person above it. */
  readonly maxLivePersonas: () => Promise<number>;
  readonly evictProfile: (accountabilityProfileId: string) => Promise<void>;
}

export function createIdentityLinkService(deps: IdentityLinkServiceDeps): IdentityLinkService {
  const { links, auth, hasher } = deps;
  const refOf = (accountId: string) => hasher.hash('account', `ref:${accountId}`).subarray(0, 16).toString('base64url');

  function identifierOf(account: StoredGraphAccount): string {
    if (account.type === 'guest') return 'guest';
    if (!account.sealed) return '(unavailable)';
    const plain =
      account.type === 'email'
        ? deps.emails.open(account.id, account.sealed)
        : deps.identifiers.open(['account-identifier', account.id], account.sealed)?.toString('utf8');
    return plain ? maskIdentifier(account.type, plain, account.provider) : '(unavailable)';
  }

  /**
   * The caller's view: an isolated account sees only itself; a linked or partial one sees the
   * person's other non-isolated accounts. Inferred links never show. A guest sees only itself, as
   * an isolated account does: its cookie outlives every sign-out, so it never reveals a person's
   * sign-in methods (a merge absorbs the guest; this holds even if some path ever left one behind).
   */
  async function visibleGraph(caller: SessionContext) {
    const stored = await links.graph(caller.accountabilityProfileId);
    const own = stored.accounts.find((account) => account.id === caller.accountId);
    const alone = own?.privacyMode === 'isolated' || caller.accountType === 'guest';
    const visible = stored.accounts.filter((account) => account.id === caller.accountId || (!alone && account.privacyMode !== 'isolated'));
    return { visible, links: stored.links };
  }

  function keyViewOf(publicKey: Buffer | null) {
    if (!publicKey) return { did: null, agentPubKey: null, keyHash: null };
    return { did: didKeyOf(publicKey), agentPubKey: holochainAgentKeyOf(publicKey), keyHash: keyHashOf(publicKey) };
  }

  async function graph(caller: SessionContext): Promise<IdentityGraphView> {
    const [stored, profiles] = await Promise.all([visibleGraph(caller), links.personasOf(caller.accountId)]);
    const { visible } = stored;
    const shown = new Set(visible.map((account) => account.id));
    return {
      accounts: visible.map((account) => ({
        ref: refOf(account.id),
        type: account.type,
        identifier: identifierOf(account),
        provider: account.provider,
        verified: account.verified,
        privacyMode: account.privacyMode,
        selectedProfileIds: [...account.selected],
        current: account.id === caller.accountId,
        createdAt: account.createdAt.toISOString(),
        ...keyViewOf(account.publicKey),
      })),
      links: stored.links
        .filter((link) => shown.has(link.fromAccountId) && shown.has(link.toAccountId))
        .map((link) => ({
          from: refOf(link.fromAccountId),
          to: refOf(link.toAccountId),
          linkType: 'direct' as const,
          privacyMode: link.privacyMode,
          createdAt: link.createdAt.toISOString(),
        })),
      profiles: profiles.map((profile) => ({ ...profile })),
    };
  }

  /** The account a ref names, among those the caller can see. */
  async function accountOf(caller: SessionContext, ref: string | undefined): Promise<string> {
    if (ref === undefined) return caller.accountId;
    const { visible } = await visibleGraph(caller);
    const found = visible.find((account) => refOf(account.id) === ref);
    if (!found) throw new AppError('ACCOUNT_NOT_FOUND', 'No sign-in method of yours has this reference.');
    return found.id;
  }

  function matches(type: StrategyName, given: string, proven: string): boolean {
    if (type === 'email') return normalizeEmail(given) === proven;
    if (type === 'wallet') return given.trim().toLowerCase() === proven;
    return given.trim() === proven;
  }

  async function afterChange(profileIds: readonly string[]): Promise<void> {
    await Promise.all([...new Set(profileIds)].map(deps.evictProfile));
  }

  return {
    graph,

    async link(caller, request, browser) {
      await deps.stepUp.require(caller);
      const person = { accountId: caller.accountId, profileId: caller.accountabilityProfileId };
      if (request.targetType === 'guest') {
        // The proof of a guest identity is holding its token: the browser's own anon_id cookie.
        if (!browser.anonToken) throw new AppError('PROOF_INVALID', 'This browser holds no guest identity to bring along.');
        const result = await links.mergeGuest(person, hasher.hash('anonymous', browser.anonToken), await deps.maxLivePersonas());
        if (result.kind === 'taken') throw new AppError('IDENTITY_TAKEN', 'This guest identity cannot be linked.');
        if (result.kind === 'over-limit') {
          throw new AppError('PERSONA_LIMIT_REACHED', 'Together, your personas and the guest\'s would be over the limit; deactivate some first.');
        }
        if (result.kind === 'linked') await afterChange(result.evict);
        return graph(caller);
      }
      const identity = await auth.verify(request.targetType, request.proof, { client: browser.client, purpose: 'link', accountId: caller.accountId });
      if (identity.type !== request.targetType) throw new AppError('IDENTIFIER_MISMATCH', 'The proof is for another kind of sign-in method.');
      if (request.targetIdentifier !== undefined && !matches(identity.type, request.targetIdentifier, identity.identifier)) {
        throw new AppError('IDENTIFIER_MISMATCH', 'The proof is for another identifier than targetIdentifier.');
      }
      const accountId = randomUUID();
      const result = await links.link(
        person,
        { accountId, type: identity.type, ...auth.accountKeys(identity, accountId), provider: identity.provider ?? null, identity },
        request.privacyMode,
      );
      // Never name the owner, nor even say whether it is a person or a guest.
      if (result.kind === 'taken') throw new AppError('IDENTITY_TAKEN', 'This sign-in method already belongs to another identity.');
      if (result.kind === 'linked') await afterChange(result.evict);
      return graph(caller);
    },

    async setPrivacy(caller, accountRef, mode, personaIds) {
      const accountId = await accountOf(caller, accountRef);
      if (mode !== 'partial' && personaIds.length > 0) throw new AppError('VALIDATION_FAILED', 'profileIds are chosen only in partial mode.');
      const result = await links.setPrivacy(caller.accountabilityProfileId, accountId, mode, personaIds);
      if (result === 'invalid-selection') {
        throw new AppError('VALIDATION_FAILED', 'A partial selection may only name personas of your non-isolated sign-in methods.');
      }
      await afterChange([caller.accountabilityProfileId]);
      return graph(caller);
    },

    async unlink(caller, accountRef) {
      await deps.stepUp.require(caller);
      const accountId = await accountOf(caller, accountRef);
      if (accountId === caller.accountId) {
        throw new AppError('VALIDATION_FAILED', 'Unlink another sign-in method; to drop this one, sign in with another and unlink it from there.');
      }
      const result = await links.unlink(caller.accountabilityProfileId, accountId, caller.accountId);
      if (result === 'last-method') throw new AppError('LAST_SIGN_IN_METHOD', 'This is your last sign-in method; it cannot be unlinked.');
      await afterChange([caller.accountabilityProfileId]);
      return graph(caller);
    },
  };
}

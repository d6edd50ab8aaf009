import { sql } from 'kysely';
import { findAccount, insertMethodAccount, writeMethodSecrets, type MethodAccount } from '../../auth/method-account-repository.js';
import type { AccountSecretStore } from '../accounts/account-secret-repository.js';
import { crossDatabaseTransaction } from '../../db/cross-database-transaction.js';
import { isUniqueViolation, type Db, type Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import type { AccountType, PrivacyMode } from '../accounts/account.js';
import type { HeldAccountability } from '../accounts/guest-inheritance.js';
import { retireMethods } from '../accounts/retired-methods.js';
import { forgetKeyHash, recordKeyHashOnMergedHandles } from './handle-key-hash-repository.js';
import { inheritAccountability } from '../accounts/sign-in-repository.js';
import { selectablePersonas } from './identity-graph.js';
import { readGraph, recomputeAccess } from './persona-access-repository.js';
import type { AppealStatementStore } from '../accountability/appeal-statement-repository.js';

/** An account of the person as the identity graph shows it (the identifier still sealed). */
export interface StoredGraphAccount {
  readonly id: string;
  readonly type: AccountType;
  readonly provider: string | null;
  readonly verified: boolean;
  readonly privacyMode: PrivacyMode;
  readonly createdAt: Date;
  readonly sealed: { readonly keyId: string; readonly sealed: Buffer } | null;
  readonly selected: readonly string[];
  /** A `key` account's raw ed25519 public key (public by nature: its did:key is derived from it). */
  readonly publicKey: Buffer | null;
}

/** A live persona an account may act as, with its handle and the handle's key hashes (spec 004). */
export interface StoredGraphPersona {
  readonly id: string;
  readonly displayName: string;
  readonly handle: string | null;
  readonly publicKeyHash: string | null;
  readonly keyHash: string | null;
}

export interface StoredGraphLink {
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly privacyMode: PrivacyMode | null;
  readonly createdAt: Date;
}

export type LinkResult =
  | { readonly kind: 'linked'; readonly evict: readonly string[] }
  | { readonly kind: 'already-linked' }
  | { readonly kind: 'taken' }
  /** A guest merge whose personas would take the person above the live-persona limit. */
  | { readonly kind: 'over-limit' };

export interface IdentityLinkRepository {
  /** Adds a proven method to the caller's person (its account is new), in one transaction with the link and access. */
  link(caller: Caller, account: Omit<MethodAccount, 'persona'>, privacyMode: PrivacyMode): Promise<LinkResult>;
  /** Brings the browser's guest identity (its personas, its accountability) into the caller's person. */
  mergeGuest(caller: Caller, guestLookupKey: Buffer, maxLivePersonas: number): Promise<LinkResult>;
  graph(profileId: string): Promise<{ accounts: StoredGraphAccount[]; links: StoredGraphLink[] }>;
  /** The live personas the account may act as (its `persona_access`), oldest first. */
  personasOf(accountId: string): Promise<StoredGraphPersona[]>;
  /** Sets an account's mode (and a partial selection); 'invalid-selection' names a persona it may not choose. */
  setPrivacy(profileId: string, accountId: string, mode: PrivacyMode, selected: readonly string[]): Promise<'changed' | 'invalid-selection'>;
  /** Removes a sign-in method from the person; its personas stay with `keeperAccountId`. */
  unlink(profileId: string, accountId: string, keeperAccountId: string): Promise<'unlinked' | 'last-method'>;
}

export interface Caller {
  readonly accountId: string;
  readonly profileId: string;
}

export function createIdentityLinkRepository(db: Db, secrets: AccountSecretStore, appealStatements: AppealStatementStore): IdentityLinkRepository {
  return {
    async link(caller, account, privacyMode) {
      try {
        return await crossDatabaseTransaction(db, async (trx): Promise<LinkResult> => {
          await lockProfiles(trx, [caller.profileId]);
          const existing = await findAccount(trx, account.type, account.lookupKey);
          if (existing) return existing.profileId === caller.profileId ? { kind: 'already-linked' } : { kind: 'taken' };
          await insertMethodAccount(trx, account, caller.profileId, privacyMode);
          await recordDirectLink(trx, caller, account.accountId, privacyMode);
          await recomputeAccess(trx, caller.profileId);
          // Last: a remote territory commits on its own, and is undone if the commit fails (see AccountSecretStore).
          await writeMethodSecrets(trx, secrets, account, caller.profileId);
          return { kind: 'linked', evict: [caller.profileId] };
        });
      } catch (error) {
        // Of many people linking one identity at once, the unique (type, lookup_key) lets one win.
        if (isUniqueViolation(error)) {
          const owner = await db.selectFrom('accounts').select('accountability_profile_id').where('type', '=', account.type).where('lookup_key', '=', account.lookupKey).executeTakeFirst();
          return owner?.accountability_profile_id === caller.profileId ? { kind: 'already-linked' } : { kind: 'taken' };
        }
        throw error;
      }
    },

    mergeGuest: (caller, guestLookupKey, maxLivePersonas) =>
      crossDatabaseTransaction(db, async (trx): Promise<LinkResult> => {
        const guest = await trx
          .selectFrom('accounts')
          .select(['id', 'accountability_profile_id as profileId'])
          .where('type', '=', 'guest')
          .where('lookup_key', '=', guestLookupKey)
          .executeTakeFirst();
        if (!guest) return { kind: 'taken' };
        if (guest.profileId === caller.profileId) return { kind: 'already-linked' };
        const [person, guestPerson] = await lockProfiles(trx, [caller.profileId, guest.profileId]);
        // Only a guest identity that is nobody's signed-in person can be brought along.
        const others = await trx.selectFrom('accounts').select('id').where('accountability_profile_id', '=', guest.profileId).where('type', '<>', 'guest').executeTakeFirst();
        if (others || !person || !guestPerson) return { kind: 'taken' };
        // Counted under both locks, so no persona can be created meanwhile (DESIGN.md §2 invariant 5).
        if ((await livePersonas(trx, [caller.profileId, guest.profileId])) > maxLivePersonas) return { kind: 'over-limit' };
        // The guest's secrets (a sealed identifier, if any) live in its own person's territory.
        await secrets.eraseAccount(trx, { accountId: guest.id, profileId: guest.profileId });
        await mergeProfiles(trx, guest.profileId, caller.profileId, guestPerson, person);
        // The guest is absorbed, not kept as a method: its personas pass to the caller's account,
        // and its cookie stops being a way in. (A cookie that survives logout on a shared computer
        // must never act as, let alone delete, the signed-in person.)
        await trx.updateTable('personas').set({ owner_account_id: caller.accountId }).where('owner_account_id', '=', guest.id).execute();
        await trx.deleteFrom('accounts').where('id', '=', guest.id).execute();
        await recordKeyHashOnMergedHandles(trx, caller.profileId, secrets);
        await recomputeAccess(trx, caller.profileId);
        // Last: the appeals and session wallets came along; their statements and keys follow to the
        // caller's territory (maybe remote).
        await appealStatements.rehome(trx, guest.profileId, caller.profileId);
        await secrets.rehomeWalletKeys(trx, guest.profileId, caller.profileId);
        return { kind: 'linked', evict: [caller.profileId, guest.profileId] };
      }),

    async graph(profileId) {
      const accounts = await db
        .selectFrom('accounts as a')
        .select(['a.id', 'a.type', 'a.provider', 'a.verified', 'a.privacy_mode as privacyMode', 'a.created_at as createdAt'])
        .select((eb) =>
          eb
            .selectFrom('account_persona_selections as s')
            .select(sql<string[]>`coalesce(array_agg(s.persona_id::text), '{}')`.as('selected'))
            .whereRef('s.account_id', '=', 'a.id')
            .as('selected'),
        )
        .where('a.accountability_profile_id', '=', profileId)
        .orderBy('a.created_at')
        .execute();
      const ids = accounts.map((account) => account.id);
      const sealed = await secrets.sealedOf(profileId, ids);
      const keys = await secrets.keysOf(profileId, ids);
      const links = ids.length === 0 ? [] : await db
        .selectFrom('account_links')
        .select(['from_account_id as fromAccountId', 'to_account_id as toAccountId', 'privacy_mode as privacyMode', 'created_at as createdAt'])
        .where('kind', '=', 'direct')
        .where('from_account_id', 'in', ids)
        .where('to_account_id', 'in', ids)
        .orderBy('created_at')
        .execute();
      return {
        accounts: accounts.map((row) => ({
          id: row.id,
          type: row.type,
          provider: row.provider,
          verified: row.verified,
          privacyMode: row.privacyMode,
          createdAt: row.createdAt,
          sealed: sealed.get(row.id)?.email ?? sealed.get(row.id)?.identifier ?? null,
          selected: row.selected ?? [],
          publicKey: keys.get(row.id) ?? null,
        })),
        links,
      };
    },

    personasOf: (accountId) =>
      db
        .selectFrom('persona_access as pa')
        .innerJoin('personas as p', 'p.id', 'pa.persona_id')
        .leftJoin('user_identities as u', 'u.persona_id', 'p.id')
        .select(['p.id', 'p.display_name as displayName', 'u.handle', 'u.public_key_hash as publicKeyHash', 'u.key_hash as keyHash'])
        .where('pa.account_id', '=', accountId)
        .where('p.is_active', '=', true)
        .where('p.deleted_at', 'is', null)
        .orderBy('p.created_at')
        .orderBy('p.id')
        .execute(),

    setPrivacy: (profileId, accountId, mode, selected) =>
      db.transaction().execute(async (trx) => {
        await lockProfiles(trx, [profileId]);
        const { accounts, personas } = await readGraph(trx, profileId);
        const next = accounts.map((account) => (account.id === accountId ? { ...account, privacyMode: mode, selected: new Set(selected) } : account));
        const choosable = selectablePersonas(next, personas);
        const own = new Set(personas.filter((persona) => persona.ownerAccountId === accountId).map((persona) => persona.id));
        if (selected.some((id) => !choosable.has(id) && !own.has(id))) return 'invalid-selection' as const;
        await trx.updateTable('accounts').set({ privacy_mode: mode }).where('id', '=', accountId).where('accountability_profile_id', '=', profileId).execute();
        await trx.deleteFrom('account_persona_selections').where('account_id', '=', accountId).execute();
        if (mode === 'partial' && selected.length > 0) {
          await trx.insertInto('account_persona_selections').values(selected.map((personaId) => ({ account_id: accountId, persona_id: personaId }))).execute();
        }
        await trx.updateTable('account_links').set({ privacy_mode: mode }).where('to_account_id', '=', accountId).where('kind', '=', 'direct').execute();
        await appendEvent(trx, { type: 'PrivacyModeChanged', payload: { accountId, accountabilityProfileId: profileId, privacyMode: mode } });
        await recomputeAccess(trx, profileId);
        return 'changed' as const;
      }),

    unlink: (profileId, accountId, keeperAccountId) =>
      db.transaction().execute(async (trx) => {
        await lockProfiles(trx, [profileId]);
        const methods = await trx
          .selectFrom('accounts')
          .select('id')
          .where('accountability_profile_id', '=', profileId)
          .where('type', '<>', 'guest')
          .execute();
        if (methods.length <= 1) return 'last-method' as const;
        // The personas it made stay with the person, in the hands of the account that unlinked it.
        await trx.updateTable('personas').set({ owner_account_id: keeperAccountId }).where('owner_account_id', '=', accountId).execute();
        // Unlinking cannot shed a mark: the method passes it (and any later ban) to its next holder.
        await retireMethods(trx, profileId, [accountId]);
        await forgetKeyHash(trx, profileId, accountId, secrets);
        // No cascade reaches a territory (it may be another server): its secrets go explicitly.
        await secrets.eraseAccount(trx, { accountId, profileId });
        await trx.deleteFrom('accounts').where('id', '=', accountId).where('accountability_profile_id', '=', profileId).execute();
        await appendEvent(trx, { type: 'AccountsUnlinked', payload: { accountId, accountabilityProfileId: profileId } });
        await recomputeAccess(trx, profileId);
        return 'unlinked' as const;
      }),
  };
}

async function livePersonas(trx: Tx, profileIds: readonly string[]): Promise<number> {
  const row = await trx
    .selectFrom('personas')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('accountability_profile_id', 'in', profileIds)
    .where('is_active', '=', true)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Locks people in a fixed order (by id), so two merges or links in opposite directions cannot deadlock. */
async function lockProfiles(trx: Tx, profileIds: readonly string[]): Promise<Array<HeldAccountability | undefined>> {
  const rows = await trx
    .selectFrom('accountability_profiles')
    .select(['id', 'risk_level as riskLevel', 'abuse_score as abuseScore', 'banned_at as bannedAt', 'ban_reason as banReason'])
    .where('id', 'in', profileIds)
    .orderBy('id')
    .forUpdate()
    .execute();
  return profileIds.map((id) => {
    const row = rows.find((candidate) => candidate.id === id);
    return row && { riskLevel: row.riskLevel, abuseScore: row.abuseScore, banned: row.bannedAt !== null, banReason: row.banReason };
  });
}

async function recordDirectLink(trx: Tx, caller: Caller, toAccountId: string, privacyMode: PrivacyMode): Promise<void> {
  await trx.insertInto('account_links').values({ from_account_id: caller.accountId, to_account_id: toAccountId, kind: 'direct', privacy_mode: privacyMode }).execute();
  await appendEvent(trx, {
    type: 'AccountsLinked',
    payload: { fromAccountId: caller.accountId, toAccountId, kind: 'direct', accountabilityProfileId: caller.profileId },
  });
}

/**
 * Moves everything of the guest's person into the caller's and takes the stricter accountability
 * (a link never lowers a risk or a score, and never sheds a ban).
 */
async function mergeProfiles(trx: Tx, fromId: string, intoId: string, from: HeldAccountability, into: HeldAccountability): Promise<void> {
  // One membership per space per person: where both held one, the caller's stays.
  await trx.deleteFrom('space_memberships').where('accountability_profile_id', '=', fromId)
    .where('space_id', 'in', (eb) => eb.selectFrom('space_memberships').select('space_id').where('accountability_profile_id', '=', intoId)).execute();
  await trx.deleteFrom('app_person_hashes').where('accountability_profile_id', '=', fromId)
    .where('app_id', 'in', (eb) => eb.selectFrom('app_person_hashes').select('app_id').where('accountability_profile_id', '=', intoId)).execute();
  for (const table of ['accounts', 'personas', 'display_name_holds', 'appeals', 'space_memberships', 'app_person_hashes', 'retired_methods'] as const) {
    await trx.updateTable(table).set({ accountability_profile_id: intoId }).where('accountability_profile_id', '=', fromId).execute();
  }
  await trx.deleteFrom('accountability_profiles').where('id', '=', fromId).execute();
  await appendEvent(trx, { type: 'AccountsMerged', payload: { fromAccountabilityProfileId: fromId, intoAccountabilityProfileId: intoId } });
  // A ban brought along ends the person's signed-in sessions in this transaction.
  await inheritAccountability(trx, from, into, intoId, 'direct-link');
}

import { sql } from 'kysely';
import type { Tx } from '../../db/database.js';
import { appendEvent } from '../../events/outbox.js';
import type { SessionLabelStore } from '../sessions/session-label-repository.js';
import { endSignedInSession, revokeSignedInSessions } from '../sessions/session-revocation.js';
import { inferredLinkConfidence, inheritFromGuest, type HeldAccountability } from './guest-inheritance.js';

/** The browser's anonymous token about to be replaced, with the means to move what hangs off it. */
export interface AnonymousRotation {
  readonly oldHash: Buffer;
  readonly newHash: Buffer;
  /**
   * Re-keys the voluntary identification row hanging off the old token (if any) to the new one, in
   * the territory of `home` (the person signing in): their browser now acts as them. True when a row moved.
   */
  readonly moveIdentityLink: (trx: Tx, home: string) => Promise<boolean>;
}

/** What every authentication writes besides its own rows (register adds the account first). */
export interface SignInPlan {
  /** Keyed hash of the new session's token; the token itself goes only to the browser. */
  readonly sessionTokenHash: Buffer;
  readonly idleSeconds: number;
  readonly absoluteSeconds: number;
  /** The browser's current signed-in session: tokens rotate at every authentication, so it ends. */
  readonly previousSessionHash: Buffer | null;
  /** Null when the browser arrived without an `anon_id` cookie. */
  readonly anonymous: AnonymousRotation | null;
  /** Whether this authentication can satisfy step-up (an email code cannot). */
  readonly stepUpCapable: boolean;
  /** A label for the session list, made from the user agent (never an address). */
  readonly deviceLabel: string | null;
  /** API clients get a refresh token (its hash is stored with the session) and access tokens; browsers a cookie. */
  readonly refreshTokenHash: Buffer | null;
}

export interface SignInWrite {
  readonly accountId: string;
  readonly profileId: string;
  readonly personaId: string | null;
}

export interface SignInOutcome {
  /** False when the person is banned: no session is made (a ban ends signed-in sessions). */
  readonly sessionCreated: boolean;
  /** The new session's public id (the `sid` of its access tokens), or null when none was made. */
  readonly sessionPublicId: string | null;
  /** True when something hung off the anonymous token and now hangs off the new one. */
  readonly anonymousRotated: boolean;
  /** People whose cached sessions changed; evicted on every node after commit. */
  readonly evict: readonly string[];
}

/**
 * The part of an authentication shared by register and login, inside its transaction:
 * 1. the browser's previous signed-in session ends (no session outlives a re-authentication);
 * 2. the anonymous token rotates: the guest account, its session and the voluntary identification
 *    row move to the new token, so a token seen before sign-in is worth nothing after it;
 * 3. a guest in the browser is linked to the account (inferred, internal) and the person takes on
 *    the guest's stricter accountability, a ban included (DESIGN.md §2b);
 * 4. the new session is stored, unless the person is banned; its device label goes to the
 *    person's territory (`labels`), out of the session row that every request resolves.
 */
export async function completeSignIn(trx: Tx, write: SignInWrite, plan: SignInPlan, labels: Pick<SessionLabelStore, 'label'>): Promise<SignInOutcome> {
  const evict: string[] = [];
  if (plan.previousSessionHash) {
    const previous = await endSignedInSession(trx, plan.previousSessionHash);
    if (previous) evict.push(previous);
  }

  // Locked first, so a ban committing meanwhile is either seen here or sees (and revokes) our session.
  const person = await lockPerson(trx, write.profileId);
  let banned = person.banned;
  let anonymousRotated = false;
  if (plan.anonymous) {
    const guest = await rotateGuest(trx, plan.anonymous);
    anonymousRotated = guest !== null;
    if (guest) {
      evict.push(guest.profileId);
      await linkGuest(trx, guest.accountId, write);
      const newlyBanned = await inheritAccountability(trx, guest, person, write.profileId, 'inferred-guest-link');
      if (newlyBanned) evict.push(write.profileId);
      banned ||= newlyBanned;
    }
  }

  const session = banned ? null : await insertSession(trx, write, plan);
  // After every global write: a remote territory commits the label and the identification row on its own.
  if (session && plan.deviceLabel) await labels.label(trx, { accountId: write.accountId, profileId: write.profileId }, session.id, plan.deviceLabel);
  if (plan.anonymous && (await plan.anonymous.moveIdentityLink(trx, write.profileId))) anonymousRotated = true;
  if (!session) return { sessionCreated: false, sessionPublicId: null, anonymousRotated, evict };
  return { sessionCreated: true, sessionPublicId: session.public_id, anonymousRotated, evict };
}

/** The new session (and an API client's refresh token). */
async function insertSession(trx: Tx, write: SignInWrite, plan: SignInPlan): Promise<{ readonly id: string; readonly public_id: string }> {
  const session = await trx
    .insertInto('sessions')
    .values({
      token_hash: plan.sessionTokenHash,
      account_id: write.accountId,
      active_persona_id: write.personaId,
      // Both ends by the database's clock, the one every lookup compares against.
      expires_at: sql<Date>`now() + make_interval(secs => ${plan.absoluteSeconds})`,
      idle_timeout_seconds: plan.idleSeconds,
      step_up_capable: plan.stepUpCapable,
      client: plan.refreshTokenHash ? 'api' : 'browser',
    })
    .returning(['id', 'public_id'])
    .executeTakeFirstOrThrow();
  if (plan.refreshTokenHash) {
    await trx.insertInto('refresh_tokens').values({ token_hash: plan.refreshTokenHash, session_id: session.id }).execute();
  }
  return session;
}

/** The person's accountability, locked until commit. */
export async function lockPerson(trx: Tx, profileId: string): Promise<HeldAccountability> {
  const person = await trx
    .selectFrom('accountability_profiles')
    .select(['risk_level as riskLevel', 'abuse_score as abuseScore', 'banned_at as bannedAt', 'ban_reason as banReason'])
    .where('id', '=', profileId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return { riskLevel: person.riskLevel, abuseScore: person.abuseScore, banReason: person.banReason, banned: person.bannedAt !== null };
}

interface Guest extends HeldAccountability {
  readonly accountId: string;
  readonly profileId: string;
}

/**
 * Re-points the guest behind the old token to the new one. The guest row is locked first: of two
 * sign-ins racing from one browser, the second finds the token already moved and rotates nothing.
 */
async function rotateGuest(trx: Tx, rotation: AnonymousRotation): Promise<Guest | null> {
  const guest = await trx
    .selectFrom('accounts as a')
    .innerJoin('accountability_profiles as ap', 'ap.id', 'a.accountability_profile_id')
    .select(['a.id as accountId', 'ap.id as profileId', 'ap.risk_level as riskLevel', 'ap.abuse_score as abuseScore', 'ap.banned_at as bannedAt', 'ap.ban_reason as banReason'])
    .where('a.type', '=', 'guest')
    .where('a.lookup_key', '=', rotation.oldHash)
    .forUpdate('a')
    .executeTakeFirst();
  if (!guest) return null;
  await trx.updateTable('accounts').set({ lookup_key: rotation.newHash }).where('id', '=', guest.accountId).execute();
  await trx.updateTable('sessions').set({ token_hash: rotation.newHash }).where('token_hash', '=', rotation.oldHash).execute();
  return { ...guest, banned: guest.bannedAt !== null };
}

/** The inferred link, once per pair, with its confidence: an internal signal for trust & safety, never a grant of access. */
async function linkGuest(trx: Tx, guestAccountId: string, write: SignInWrite): Promise<void> {
  const inserted = await trx
    .insertInto('account_links')
    .values({ from_account_id: guestAccountId, to_account_id: write.accountId, kind: 'inferred' })
    .onConflict((conflict) => conflict.constraint('account_links_unique').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return;
  // Every inferred link of this guest is re-scored: one more person seen from the same cookie.
  const seen = await trx
    .selectFrom('account_links as l')
    .innerJoin('accounts as a', 'a.id', 'l.to_account_id')
    .select((eb) => eb.fn.count<string>('a.accountability_profile_id').distinct().as('people'))
    .where('l.from_account_id', '=', guestAccountId)
    .where('l.kind', '=', 'inferred')
    .executeTakeFirstOrThrow();
  await trx
    .updateTable('account_links')
    .set({ confidence: inferredLinkConfidence(Number(seen.people)) })
    .where('from_account_id', '=', guestAccountId)
    .where('kind', '=', 'inferred')
    .execute();
  await appendEvent(trx, {
    type: 'AccountsLinked',
    payload: { fromAccountId: guestAccountId, toAccountId: write.accountId, kind: 'inferred', accountabilityProfileId: write.profileId },
  });
}

/** How a ban's inherited reason names where it came from. */
const ORIGINS = {
  'inferred-guest-link': 'a linked guest',
  'direct-link': 'a linked sign-in method',
  'retired-method': 'a sign-in method of a deleted or unlinked identity',
} as const;

/**
 * Raises the person to another identity's stricter accountability (a guest seen signing in, or one
 * merged by a link, a retired method), inside the caller's transaction; true when that bans them.
 */
export async function inheritAccountability(
  trx: Tx,
  from: HeldAccountability,
  person: HeldAccountability,
  profileId: string,
  source: 'inferred-guest-link' | 'direct-link' | 'retired-method',
): Promise<boolean> {
  const inherited = inheritFromGuest(from, person, ORIGINS[source]);
  if (!inherited) return false;
  await trx
    .updateTable('accountability_profiles')
    .set({
      ...(inherited.riskLevel ? { risk_level: inherited.riskLevel } : {}),
      ...(inherited.abuseScore !== undefined ? { abuse_score: inherited.abuseScore } : {}),
      ...(inherited.banReason ? { banned_at: sql<Date>`now()`, ban_reason: inherited.banReason } : {}),
    })
    .where('id', '=', profileId)
    .execute();
  await appendEvent(trx, {
    type: 'AccountabilityChanged',
    payload: {
      accountabilityProfileId: profileId,
      changes: { ...inherited, ...(inherited.banReason ? { banned: true } : {}), source },
    },
  });
  if (!inherited.banReason) return false;
  // A ban ends every signed-in session of the person, on every device.
  await revokeSignedInSessions(trx, profileId);
  await appendEvent(trx, { type: 'PersonBanned', payload: { accountabilityProfileId: profileId } });
  return true;
}

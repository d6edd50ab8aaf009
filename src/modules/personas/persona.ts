/** NEW for every new persona; promotion is manual (roughly Discourse's TL0, TL1–2, TL3). */
export type TrustLevel = 'NEW' | 'REGULAR' | 'TRUSTED';

export const TRUST_LEVELS: readonly TrustLevel[] = ['NEW', 'REGULAR', 'TRUSTED'];

/** How a persona came to be: a person's first, one created on request, or one made by rotation. */
export type PersonaOrigin = 'initial' | 'created' | 'rotated';

/** A persona as stored, in the service's terms. Internal: it names the person behind it. */
export interface PersonaRecord {
  readonly id: string;
  readonly accountabilityProfileId: string;
  readonly displayName: string;
  readonly displayNameKey: string;
  readonly avatarUrl: string | null;
  readonly authorId: string;
  readonly trustLevel: TrustLevel;
  readonly trustGrantedAt: Date;
  readonly origin: PersonaOrigin;
  readonly isActive: boolean;
  readonly createdAt: Date;
  readonly deletedAt: Date | null;
  readonly deactivatedAt: Date | null;
  readonly purgeAfter: Date | null;
  /** The account that made it (internal; privacy modes start from it). */
  readonly ownerAccountId: string | null;
}

/**
 * `live`: shown everywhere. `deactivated`: hidden from everyone but its owner, restorable until
 * `purgeAfter`. `retired`: rotated away or permanently deleted; hidden from everyone, owner included.
 */
export type PersonaState = 'live' | 'deactivated' | 'retired';

export function personaState(persona: Pick<PersonaRecord, 'isActive' | 'deletedAt'>): PersonaState {
  if (persona.deletedAt !== null) return 'retired';
  return persona.isActive ? 'live' : 'deactivated';
}

/** What the public (and the persona's owner) may see. No accountability id, score or risk level. */
export interface PublicPersona {
  readonly id: string;
  readonly displayName: string;
  readonly avatarUrl: string | null;
  readonly trustLevel: TrustLevel;
  readonly createdAt: string;
  /** The person's verification, shown on every persona of theirs (spec 002 edge case 5). */
  readonly verified: boolean;
  readonly active: boolean;
  readonly authorId: string;
  /** For a deactivated persona: until when its owner may reactivate it. */
  readonly restorableUntil: string | null;
}

/**
 * A persona in its owner's list (GET /personas): also its handle, which is public anyway (the
 * persona's address), so that a client can show it without a second lookup per persona.
 */
export interface ListedPersona extends PublicPersona {
  readonly handle: string | null;
}

export function toPublicPersona(persona: PersonaRecord, verified: boolean): PublicPersona {
  const state = personaState(persona);
  return {
    id: persona.id,
    displayName: persona.displayName,
    avatarUrl: persona.avatarUrl,
    trustLevel: persona.trustLevel,
    createdAt: persona.createdAt.toISOString(),
    verified,
    active: state === 'live',
    authorId: persona.authorId,
    restorableUntil: state === 'deactivated' && persona.purgeAfter ? persona.purgeAfter.toISOString() : null,
  };
}

export const AVATAR_URL_MAX_LENGTH = 500;

/**
 * Why an avatar URL is refused, or null. Only https (no mixed content, no `javascript:` or `data:`),
 * and no user:password part: a credential in a public URL would be published to every viewer.
 */
export function avatarUrlProblem(url: string): string | null {
  if (url.length > AVATAR_URL_MAX_LENGTH) return `avatarUrl must be at most ${AVATAR_URL_MAX_LENGTH} characters.`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'avatarUrl must be an absolute URL.';
  }
  if (parsed.protocol !== 'https:') return 'avatarUrl must use https.';
  if (parsed.username || parsed.password) return 'avatarUrl must not carry a user name or password.';
  return null;
}

const DAY_MS = 86_400_000;

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

import { createHash } from 'node:crypto';

/**
 * Handles (spec 004 usernames): the pure rules. A handle is lowercase `[a-z0-9_]`, 3–50 characters,
 * compared case-insensitively (it is stored lowercased). Its skeleton folds look-alikes, so that
 * neither the reserved names nor another person's handle can be imitated with digits (`4dm1n`),
 * letter pairs (`rn` for `m`) or underscores.
 */
export const HANDLE_PATTERN = '^[a-z0-9_]{3,50}$';
const HANDLE = new RegExp(HANDLE_PATTERN);

/** Names that would pass for the service, its staff or its machinery, by their skeletons. */
const RESERVED = [
  'admin', 'administrator', 'root', 'support', 'help', 'moderator', 'mod', 'staff', 'system', 'sysadmin',
  'security', 'abuse', 'postmaster', 'hostmaster', 'webmaster', 'noreply', 'no_reply', 'mailer_daemon',
  'info', 'contact', 'official', 'team', 'trust', 'safety', 'trust_and_safety', 'legal', 'privacy',
  'personae', 'operator', 'owner', 'api', 'www', 'mail', 'null', 'undefined', 'anonymous', 'guest',
  'everyone', 'here', 'matrix', 'federation', 'territory', 'webfinger', 'wellknown', 'well_known',
];

/** Digits and letters that stand in for one another, folded to one representative. */
const LOOK_ALIKE: Readonly<Record<string, string>> = { '0': 'o', '1': 'l', i: 'l', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g', '6': 'g', '2': 'z' };

export type HandleProblem = 'invalid' | 'reserved';

/** Lowercased and trimmed: the stored form (case-insensitive uniqueness). */
export function normalizeHandle(input: string): string {
  return input.trim().toLowerCase();
}

export function isHandle(candidate: string): boolean {
  return HANDLE.test(candidate);
}

/** The handle with look-alikes folded: `Al1ce`, `a_lice` and `alice` share one skeleton. */
export function handleSkeleton(handle: string): string {
  let folded = '';
  for (const character of handle.replaceAll('_', '')) folded += LOOK_ALIKE[character] ?? character;
  return folded.replaceAll('rn', 'm').replaceAll('vv', 'w').replaceAll('cl', 'd');
}

const RESERVED_SKELETONS = new Set(RESERVED.map(handleSkeleton));

/** Why a normalized handle cannot be claimed by anyone, or null. Territory codes are reserved too. */
export function handleProblem(handle: string, territoryCodes: readonly string[]): HandleProblem | null {
  if (!isHandle(handle)) return 'invalid';
  const skeleton = handleSkeleton(handle);
  if (RESERVED_SKELETONS.has(skeleton)) return 'reserved';
  if (territoryCodes.some((code) => handleSkeleton(code) === skeleton)) return 'reserved';
  return null;
}

/** Variants to offer when a handle is taken (the caller keeps the ones still available). */
export function handleCandidates(handle: string, digits: () => string): string[] {
  const base = handle.slice(0, 44).replace(/_+$/, '');
  return [`${base}_${digits()}`, `${base}${digits()}`, `the_${base}`.slice(0, 50), `${base}_x`, `${base}_${digits()}${digits()}`].filter(isHandle);
}

/** Spec 004: `SHA-256(handle "::" territory_code "::" uuid)` as lowercase hex; fixed at claim. */
export function publicKeyHashOf(handle: string, territoryCode: string, identityId: string): string {
  return createHash('sha256').update(`${handle}::${territoryCode}::${identityId}`).digest('hex');
}

/** Spec 004 phase 2: the hash of the person's own ed25519 public key (32 raw bytes). */
export function keyHashOf(rawPublicKey: Uint8Array): string {
  return createHash('sha256').update(rawPublicKey).digest('hex');
}

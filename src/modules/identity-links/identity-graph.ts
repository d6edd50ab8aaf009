import type { PrivacyMode } from '../accounts/account.js';

/** An account of one person, as the access rule needs it. */
export interface GraphAccount {
  readonly id: string;
  readonly privacyMode: PrivacyMode;
  /** A `partial` account's chosen personas (ignored for the other modes). */
  readonly selected: ReadonlySet<string>;
}

/** A persona of the person and the account that made it (null when that account is gone). */
export interface GraphPersona {
  readonly id: string;
  readonly ownerAccountId: string | null;
}

/**
 * Spec 003's access rule, for one person's accounts (all linked directly or by a consented merge):
 * - every account acts as the personas it made;
 * - a `linked` account also acts as every persona made by a non-isolated account (or by none);
 * - a `partial` account also acts as the ones it chose among those;
 * - an `isolated` account acts only as its own, and its personas are nobody else's.
 * The answer is the whole `persona_access` relation of the person, so it can be stored as it is:
 * the hot path reads one indexed table and never walks the graph. Inferred links are not an input:
 * they never grant access.
 */
export function accessFor(accounts: readonly GraphAccount[], personas: readonly GraphPersona[]): Map<string, Set<string>> {
  const isolated = new Set(accounts.filter((account) => account.privacyMode === 'isolated').map((account) => account.id));
  const shared = personas.filter((persona) => persona.ownerAccountId === null || !isolated.has(persona.ownerAccountId)).map((persona) => persona.id);
  const access = new Map<string, Set<string>>();
  for (const account of accounts) {
    const own = personas.filter((persona) => persona.ownerAccountId === account.id).map((persona) => persona.id);
    const others =
      account.privacyMode === 'linked' ? shared : account.privacyMode === 'partial' ? shared.filter((id) => account.selected.has(id)) : [];
    access.set(account.id, new Set([...own, ...others]));
  }
  return access;
}

/** The personas a `partial` selection may name: those a non-isolated account made (or no account). */
export function selectablePersonas(accounts: readonly GraphAccount[], personas: readonly GraphPersona[]): Set<string> {
  const isolated = new Set(accounts.filter((account) => account.privacyMode === 'isolated').map((account) => account.id));
  return new Set(personas.filter((persona) => persona.ownerAccountId === null || !isolated.has(persona.ownerAccountId)).map((persona) => persona.id));
}

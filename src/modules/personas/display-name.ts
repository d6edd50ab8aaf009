import { foldConfusables } from './confusables.js';

/** Characters nobody sees (zero-width spaces and joiners, variation selectors, soft hyphens…). */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * The form two display names are compared in: Unicode NFKC, case-folded, inner white space
 * collapsed, ends trimmed (the PRECIS Nickname profile's steps, RFC 8266), invisible characters
 * dropped, and letters of other scripts that imitate Latin ones folded to them (a UTS #39-style
 * skeleton, see confusables.ts). So `Alice`, `alice `, `ＡＬＩＣＥ` (full-width) and `аlice`
 * (Cyrillic а) are one name.
 */
export function displayNameKey(displayName: string): string {
  // Folded in decomposed form, so a confusable letter with an accent (Cyrillic ё) meets its Latin twin (ë).
  const decomposed = displayName.normalize('NFKC').toLowerCase().normalize('NFKD').replace(INVISIBLE, '');
  return foldConfusables(decomposed).normalize('NFKC').replace(/\s+/gu, ' ').trim();
}

export const DISPLAY_NAME_MAX_LENGTH = 64;

/**
 * Control and format characters, except the zero-width joiner that emoji sequences need: they could
 * reorder text (bidi overrides) or hide inside a name that looks like another.
 */
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}]/u;
const ZERO_WIDTH_JOINER = '\u200d';

/** A display name as stored: NFC, white space collapsed and trimmed. */
export function normalizeDisplayName(displayName: string): string {
  return displayName.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

/** Why a (normalized) display name is refused, or null. Length counts characters, as the database does. */
export function displayNameProblem(displayName: string): string | null {
  const length = [...displayName].length;
  if (length === 0 || displayNameKey(displayName).length === 0) return 'The display name must not be empty.';
  if (length > DISPLAY_NAME_MAX_LENGTH) return `The display name must be at most ${DISPLAY_NAME_MAX_LENGTH} characters.`;
  if (FORBIDDEN.test(displayName.replaceAll(ZERO_WIDTH_JOINER, ''))) {
    return 'The display name must not contain control or formatting characters.';
  }
  return null;
}

/**
 * The form two display names are compared in: Unicode NFKC, case-folded, inner white space
 * collapsed, ends trimmed (the PRECIS Nickname profile's steps, RFC 8266). So `Alice`, `alice `
 * and `ＡＬＩＣＥ` (full-width) are one name.
 */
export function displayNameKey(displayName: string): string {
  return displayName.normalize('NFKC').toLowerCase().normalize('NFKC').replace(/\s+/gu, ' ').trim();
}

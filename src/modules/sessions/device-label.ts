import Bowser from 'bowser';

/** Long enough for "Firefox on Windows (desktop)"; user agents are attacker-controlled text. */
const MAX_LABEL_LENGTH = 80;

/**
 * A label for the session list ("Chrome on macOS"), from the user agent: browser and OS names only,
 * no versions, so the label identifies a device to its owner without fingerprinting it. Never an
 * IP address (DESIGN.md §2.9).
 */
export function deviceLabelOf(userAgent: string | undefined): string | null {
  if (!userAgent) return null;
  const parsed = Bowser.parse(userAgent.slice(0, 512));
  const browser = parsed.browser.name;
  const os = parsed.os.name;
  const label = browser && os ? `${browser} on ${os}` : (browser ?? os ?? null);
  return label ? label.replace(/[^\p{L}\p{N} ._()-]/gu, '').slice(0, MAX_LABEL_LENGTH) || null : null;
}

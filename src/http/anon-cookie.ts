import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTokenShaped, newToken } from '../crypto/tokens.js';
import { AppError } from '../errors.js';

export const ANON_COOKIE = 'anon_id';

/** Ten years, as spec 001 asks; browsers cap it at 400 days, hence the refresh below. */
const MAX_AGE_SECONDS = 315_360_000;
/** Re-issue (same token, new date) once a day at most, so a visitor seen within 400 days is kept. */
const REFRESH_AFTER_SECONDS = 86_400;

export interface AnonToken {
  readonly token: string;
  /** True when this request had no valid cookie: there is certainly no state behind the token yet. */
  readonly isNew: boolean;
}

interface CookieValue {
  readonly token: string;
  readonly issuedAt: number;
}

export type Unsign = (value: string) => { valid: boolean; renew: boolean; value: string | null };

/**
 * Reads a signed `anon_id` value (`<token>.<issued-at, base36 seconds>` plus the signature).
 * A tampered, malformed or foreign value is simply absent: never an error.
 */
export function parseAnonCookie(raw: string | undefined, unsign: Unsign): (CookieValue & { renew: boolean }) | null {
  if (!raw || raw.length > 200) return null;
  const unsigned = unsign(raw);
  if (!unsigned.valid || unsigned.value === null) return null;
  const [token, issued, extra] = unsigned.value.split('.');
  if (extra !== undefined || !token || !issued || !isTokenShaped(token) || !/^[0-9a-z]{1,10}$/.test(issued)) return null;
  return { token, issuedAt: Number.parseInt(issued, 36), renew: unsigned.renew };
}

/**
 * The visitor's anonymous token: the cookie's, or a new one set on the reply. Setting a cookie costs
 * nothing in the database; state is created only when the visitor first needs it.
 */
export function anonTokenOf(request: FastifyRequest, reply: FastifyReply, unsign: Unsign, nowSeconds: number): AnonToken {
  if (hasTwoAnonCookies(request.headers.cookie)) {
    // Another host on a parent domain can plant a second anon_id for a longer path, which the
    // browser sends first: acting on either could file one person's data under the other's token.
    throw new AppError(
      'COOKIE_CONFLICT',
      'The browser sent two anon_id cookies (another site on this domain may have set one). Clear this site\'s cookies.',
    );
  }
  const parsed = parseAnonCookie(request.cookies[ANON_COOKIE], unsign);
  if (parsed) {
    if (refreshIsDue(parsed, nowSeconds)) setAnonCookie(reply, parsed.token, nowSeconds);
    return { token: parsed.token, isNew: false };
  }
  const token = newToken();
  setAnonCookie(reply, token, nowSeconds);
  return { token, isNew: true };
}

/** The cookie is due to be set again: signed with an older secret, or last issued over a day ago. */
export function refreshIsDue(cookie: CookieValue & { renew: boolean }, nowSeconds: number): boolean {
  return cookie.renew || nowSeconds - cookie.issuedAt > REFRESH_AFTER_SECONDS;
}

const ANON_COOKIE_PAIR = /(?:^|;)\s*anon_id=/g;

export function hasTwoAnonCookies(header: string | undefined): boolean {
  // The cheap test first: the hot path sees one cookie, and indexOf finds it from both ends.
  if (!header || header.indexOf(`${ANON_COOKIE}=`) === header.lastIndexOf(`${ANON_COOKIE}=`)) return false;
  return (header.match(ANON_COOKIE_PAIR)?.length ?? 0) > 1;
}

/** Sets the cookie to a token: a new visitor's, a refresh, or the replacement a sign-in rotates to. */
export function setAnonCookie(reply: FastifyReply, token: string, nowSeconds: number): void {
  // No Domain attribute: the cookie stays on this host only.
  reply.setCookie(ANON_COOKIE, `${token}.${nowSeconds.toString(36)}`, {
    signed: true,
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    path: '/',
    maxAge: MAX_AGE_SECONDS,
  });
}

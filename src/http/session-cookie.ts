import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTokenShaped } from '../crypto/tokens.js';
import type { Unsign } from './anon-cookie.js';

/**
 * The signed-in session's cookie, apart from `anon_id`: signing in mints a token of its own, so the
 * anonymous identity (long-lived, and what keeps a ban on the browser) never doubles as a credential.
 * `__Host-` makes browsers refuse it unless it is Secure, has Path=/ and no Domain, so no sibling
 * subdomain can plant or overwrite it (session fixation).
 */
export const SESSION_COOKIE = '__Host-session';

const OPTIONS = { signed: true, httpOnly: true, secure: true, sameSite: 'lax', path: '/' } as const;

/**
 * The token of the signed-in session cookie, or null without one. A value whose signature fails is
 * cleared at once: it can never become valid. (Whether the session still exists is the caller's.)
 * Visitors without the cookie pay one property lookup: the header was parsed anyway.
 */
export function sessionTokenOf(request: FastifyRequest, reply: FastifyReply, unsign: Unsign): string | null {
  const raw = request.cookies[SESSION_COOKIE];
  if (raw === undefined) return null;
  const unsigned = raw.length <= 200 ? unsign(raw) : null;
  // A value signed with an older cookie secret still verifies (rotation); it is not re-issued, since
  // the cookie's remaining lifetime is unknown here and the session ends by the server's clock anyway.
  if (unsigned?.valid && unsigned.value !== null && isTokenShaped(unsigned.value)) return unsigned.value;
  clearSessionCookie(reply);
  return null;
}

/** Max-Age is the session's absolute timeout: the cookie never outlives what the server would accept. */
export function setSessionCookie(reply: FastifyReply, token: string, maxAgeSeconds: number): void {
  reply.setCookie(SESSION_COOKIE, token, { ...OPTIONS, maxAge: maxAgeSeconds });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, OPTIONS);
}

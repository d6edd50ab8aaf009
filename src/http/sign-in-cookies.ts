import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { Browser } from '../modules/accounts/sign-in-plan.js';
import { setAnonCookie } from './anon-cookie.js';
import { clearSessionCookie, setSessionCookie } from './session-cookie.js';

/** What an authentication produced for the browser's cookies. */
export interface SignInCookies {
  /** False when the person is banned: the proof was right, but no session was made. */
  readonly signedIn: boolean;
  readonly sessionToken: string | null;
  readonly anonToken: string | null;
}

/** The client authenticating, as the services need to know it. */
export function browserOf(request: FastifyRequest): Browser {
  return {
    client: request.ip,
    anonToken: request.anon.isNew ? null : request.anon.token,
    sessionToken: request.sessionToken,
    userAgent: request.headers['user-agent'],
  };
}

/**
 * Sets the cookies an authentication produced, then refuses a banned person: they get the rotated
 * anon_id (the old token is dead) but no session.
 */
export function applySignInCookies(
  request: FastifyRequest,
  reply: FastifyReply,
  result: SignInCookies,
  clock: Clock,
  sessionMaxAgeSeconds: number,
): void {
  if (result.anonToken) {
    setAnonCookie(reply, result.anonToken, Math.floor(clock.now().getTime() / 1000));
    request.anon = { token: result.anonToken, isNew: false };
  }
  if (result.sessionToken) setSessionCookie(reply, result.sessionToken, sessionMaxAgeSeconds);
  else if (request.sessionToken) clearSessionCookie(reply); // the old session ended with this authentication
  if (!result.signedIn) {
    throw new AppError('ACCOUNT_SUSPENDED', 'This account is suspended. You can appeal the decision.');
  }
}

import type { SessionAssurance } from './step-up-repository.js';

/**
 * Whether a session may make a sensitive change (link, unlink, a new password, deletion): it
 * authenticated within the window, with an authenticator — or with an email code when the person
 * has nothing stronger. NIST SP 800-63B-4 does not count email as an authenticator, but for an
 * email-only person the mailbox already is the whole account: asking for more would lock them out
 * of adding a stronger method, and protect nothing.
 */
export function satisfiesStepUp(session: SessionAssurance, personHasAuthenticator: boolean): boolean {
  return session.recent && (session.strong || !personHasAuthenticator);
}

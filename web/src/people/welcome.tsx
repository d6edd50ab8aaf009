import { useLocation } from 'preact-iso';
import { api } from '../api/client.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { useSession } from '../session/session.tsx';
import { dateOf } from './persona-card.tsx';
import { GuestMergeOffer } from './guest-merge.tsx';

/** The first screen: you are already somebody here (a guest with a persona), no sign-up needed. */
export function Welcome() {
  const { session, error, refresh } = useSession();
  const { route, query } = useLocation();
  const signOut = useAction();
  if (error) return <Page title="Welcome"><ErrorNotice error={error} /></Page>;
  if (!session) return <Page title="Welcome"><p aria-busy="true">Loading…</p></Page>;
  const persona = session.persona;
  if (session.anonymous) {
    return (
      <Page title="Welcome" intro="You are already a guest here: no email, no password, no name asked.">
        <Farewell purgeAfter={query.deleted} />
        {persona && (
          <div class="card" data-testid="guest-persona">
            <p class="muted small">You appear to others as</p>
            <p class="persona-name">{persona.displayName}</p>
            <p class="muted small">Public author id <code>{persona.authorId}</code></p>
          </div>
        )}
        <p>
          Your guest identity lives in this browser. Sign up to keep it across devices; nothing about you is
          shared with the communities you use unless you choose to identify yourself.
        </p>
        <div class="actions">
          <a class="button primary" href="/sign-up">Create an account</a>
          <a class="button" href="/sign-in">Sign in</a>
          <a class="button" href="/me/personas">Manage personas</a>
        </div>
        {session.banned && <p class="notice notice-error" role="alert">This identity is banned from making changes.</p>}
      </Page>
    );
  }
  return (
    <Page title="Your identity" intro="You are signed in.">
      {persona && (
        <div class="card" data-testid="active-persona">
          <p class="muted small">Acting as</p>
          <p class="persona-name">{persona.displayName}</p>
          <p class="muted small">Trust level {persona.trustLevel}{persona.verified ? ' · verified' : ''}</p>
        </div>
      )}
      <GuestMergeOffer />
      <div class="actions">
        <a class="button primary" href="/me/personas">Manage personas</a>
        <a class="button" href="/me/security">Sessions and sign-in methods</a>
        <button
          type="button"
          class="button"
          disabled={signOut.busy}
          onClick={() => signOut.run(async () => {
            await api.post('/auth/logout');
            await refresh();
            route('/');
          })}
        >
          Sign out
        </button>
      </div>
      <ErrorNotice error={signOut.error} />
    </Page>
  );
}

/** After DELETE /api/v2/auth/identity (the account screen lands here with ?deleted=<purge date>). */
function Farewell({ purgeAfter }: { purgeAfter: string | undefined }) {
  if (!purgeAfter || Number.isNaN(Date.parse(purgeAfter))) return null;
  return (
    <p class="notice" role="status">
      Your identity was deleted and you are signed out. What was anonymized is purged for good after {dateOf(purgeAfter)}.
    </p>
  );
}

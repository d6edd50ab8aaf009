import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api } from '../api/client.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { useSession } from '../session/session.tsx';

/**
 * The verification id must survive the round trip to the provider, in this browser only
 * (docs/auth-methods.md). It is a one-ceremony secret, not a session credential: it lives in
 * sessionStorage (this tab only) for the seconds of the redirect and is removed on return.
 */
const PENDING_KEY = 'personae.social-sign-in';

interface Pending {
  readonly verificationId: string;
  readonly returnTo: string;
}

/** "Sign in with <provider>" buttons for the OIDC providers the deployment offers (none: nothing shown). */
export function SocialSignIn() {
  const [providers, setProviders] = useState<string[]>([]);
  const action = useAction();
  useEffect(() => {
    api.get<{ socialProviders: string[] }>('/api/v2/auth/strategies').then((answer) => setProviders(answer.socialProviders), () => setProviders([]));
  }, []);
  if (providers.length === 0) return null;
  const start = (provider: string) => action.run(async () => {
    const answer = await api.post<{ authorizationUrl: string; verificationId: string; returnTo: string }>('/api/v2/auth/challenge', {
      strategy: 'social',
      provider,
      returnTo: '/',
    });
    const pending: Pending = { verificationId: answer.verificationId, returnTo: answer.returnTo };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    window.location.assign(answer.authorizationUrl);
  });
  return (
    <div class="card stack" role="group" aria-label="Sign in with another service">
      <p class="small">The service only tells us that it is you; your address there is never used to find or link an account.</p>
      <div class="actions">
        {providers.map((provider) => (
          <button key={provider} type="button" class="button" disabled={action.busy} onClick={() => void start(provider)}>Sign in with {provider}</button>
        ))}
      </div>
      <ErrorNotice error={action.error} />
    </div>
  );
}

function takePending(): Pending | null {
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<Pending>;
    return typeof parsed.verificationId === 'string' && typeof parsed.returnTo === 'string' ? (parsed as Pending) : null;
  } catch {
    return null;
  }
}

/** Where the provider sends the browser back (/api/v2/auth/social/callback?code&state): finish the sign-in. */
export function SocialCallback() {
  const { refresh } = useSession();
  const { route } = useLocation();
  const action = useAction();
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    const pending = takePending();
    if (!pending) {
      setMissing(true);
      return;
    }
    void action.run(async () => {
      await api.post('/api/v2/auth/authenticate', { strategy: 'social', callbackUrl: window.location.href, verificationId: pending.verificationId });
      await refresh();
      route(pending.returnTo, true);
    });
  }, []);
  return (
    <Page title="Signing you in">
      {missing ? (
        <p class="notice notice-error" role="alert">This sign-in was not started in this tab, or it was already used. <a href="/sign-in">Start again</a>.</p>
      ) : action.error ? (
        <>
          <ErrorNotice error={action.error} />
          <p><a href="/sign-in">Back to sign in</a></p>
        </>
      ) : (
        <p aria-busy="true">Checking with the provider…</p>
      )}
    </Page>
  );
}

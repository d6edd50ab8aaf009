import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api/client.ts';
import { ErrorNotice } from '../../components/error-notice.tsx';
import { useAction } from '../../components/use-action.ts';
import { startCeremony, withMethod, type Purpose } from './ceremony.ts';

/**
 * What must survive the round trip to the provider, in this tab only (docs/auth-methods.md): the
 * verification id, a one-ceremony secret rather than a session credential, and what the ceremony is
 * for. It lives in sessionStorage for the seconds of the redirect and is removed on return.
 */
const PENDING_KEY = 'personae.social-sign-in';

export interface PendingSocial {
  readonly verificationId: string;
  readonly returnTo: string;
  readonly purpose: Purpose;
  /** Signing in from a guest: the guest's persona names, to offer bringing them along afterwards (public names only). */
  readonly guestPersonas?: readonly string[];
  /** A step-up: the name of the change that waits for it (step-up.tsx, NamedChange), never its data. */
  readonly change?: string;
}

/** The OIDC providers this deployment offers (names of OIDC_PROVIDERS); none while loading or on error. */
export function useSocialProviders(): readonly string[] {
  const [providers, setProviders] = useState<readonly string[]>([]);
  useEffect(() => {
    api.get<{ socialProviders: string[] }>('/api/v2/auth/strategies').then((answer) => setProviders(answer.socialProviders), () => setProviders([]));
  }, []);
  return providers;
}

/**
 * One button per provider: sends the browser to the provider, which sends it back to the callback
 * page (social-callback.tsx), where the proof is spent for its purpose. `beforeLeaving` runs first
 * (a sign-in notes the guest's personas; a step-up, the change waiting for it).
 */
export function SocialButtons({ purpose, providers, returnTo, note, beforeLeaving }: {
  purpose: Purpose;
  providers: readonly string[];
  returnTo: string;
  note?: string;
  beforeLeaving?: () => Promise<Pick<PendingSocial, 'guestPersonas' | 'change'>>;
}) {
  const action = useAction();
  if (providers.length === 0) return null;
  const start = (provider: string) => action.run(async () => {
    const extra = beforeLeaving ? await beforeLeaving() : {};
    const answer = await startCeremony<{ authorizationUrl: string; verificationId: string; returnTo: string }>('social', purpose, { provider, returnTo });
    const pending: PendingSocial = { verificationId: answer.verificationId, returnTo: answer.returnTo, purpose, ...extra };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    window.location.assign(answer.authorizationUrl);
  });
  return (
    <div class="card stack" role="group" aria-label={withMethod(purpose, 'another service')}>
      <p class="small">{note ?? 'The service only tells us that it is you; your address there is never used to find or link an account.'}</p>
      <div class="actions">
        {providers.map((provider) => (
          <button key={provider} type="button" class="button" disabled={action.busy} onClick={() => void start(provider)}>{withMethod(purpose, provider)}</button>
        ))}
      </div>
      <ErrorNotice error={action.error} />
    </div>
  );
}

/** Reads and removes the pending ceremony: a callback URL works once, and only in the tab that started it. */
export function takePendingSocial(): PendingSocial | null {
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<PendingSocial>;
    if (typeof parsed.verificationId !== 'string' || typeof parsed.returnTo !== 'string') return null;
    const purpose = parsed.purpose === 'link' || parsed.purpose === 'step-up' ? parsed.purpose : 'sign-in';
    const guestPersonas = Array.isArray(parsed.guestPersonas) ? parsed.guestPersonas.filter((name) => typeof name === 'string') : [];
    const change = purpose === 'step-up' && typeof parsed.change === 'string' ? { change: parsed.change } : {};
    return { verificationId: parsed.verificationId, returnTo: parsed.returnTo, purpose, guestPersonas, ...change };
  } catch {
    return null;
  }
}

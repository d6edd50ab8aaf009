import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ErrorNotice } from '../components/error-notice.tsx';
import { flash } from '../components/flash.ts';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { useSession } from '../session/session.tsx';
import { offerGuestMerge } from './guest-merge.tsx';
import { spendProof, type Purpose } from './methods/ceremony.ts';
import { takePendingSocial } from './methods/social.tsx';
import { resumedChange, useStepUp } from './step-up.tsx';

const TITLES: Record<Purpose, string> = {
  'sign-in': 'Signing you in',
  link: 'Linking your account',
  'step-up': 'Confirming it is you',
};

/**
 * Where the provider sends the browser back (/api/v2/auth/social/callback?code&state): the proof is
 * spent for what the ceremony was started for (sign in, link, step up), then back to `returnTo`.
 */
export function SocialCallback() {
  const { refresh } = useSession();
  const { route } = useLocation();
  const action = useAction();
  // A link may need a step-up first; not through a provider again, which would lose this page.
  const [cancelled, setCancelled] = useState(false);
  const stepUp = useStepUp(action.run, { redirects: false, onCancel: () => setCancelled(true) });
  const [pending] = useState(takePendingSocial);
  useEffect(() => {
    if (!pending) return;
    const proof = { callbackUrl: window.location.href, verificationId: pending.verificationId };
    void action.run(async () => {
      if (pending.purpose === 'sign-in') {
        await spendProof('sign-in', 'social', proof);
        offerGuestMerge(pending.guestPersonas ?? []);
        await refresh();
      } else if (pending.purpose === 'step-up') {
        await spendProof('step-up', 'social', proof);
        // A named change is offered again by its screen; any other, the person makes again.
        if (pending.change) resumedChange.set(pending.change);
        else flash.set('Confirmed: for the next few minutes you can make sensitive changes. Make yours again now.');
      } else {
        return stepUp.guard(async () => {
          await spendProof('link', 'social', proof);
          flash.set('Linked: you can now sign in with that service too.');
          route(pending.returnTo, true);
        });
      }
      route(pending.returnTo, true);
    });
  }, []);
  const back = pending?.purpose === 'sign-in' || !pending ? <a href="/sign-in">Back to sign in</a> : <a href={pending.returnTo}>Back</a>;
  return (
    <Page title={TITLES[pending?.purpose ?? 'sign-in']}>
      {!pending ? (
        <p class="notice notice-error" role="alert">This sign-in was not started in this tab, or it was already used. <a href="/sign-in">Start again</a>.</p>
      ) : action.error || cancelled ? (
        <>
          {cancelled ? <p role="status">Nothing was linked.</p> : <ErrorNotice error={action.error} />}
          <p>{back}</p>
        </>
      ) : (
        <p aria-busy="true">Checking with the provider…</p>
      )}
      {stepUp.dialog}
    </Page>
  );
}

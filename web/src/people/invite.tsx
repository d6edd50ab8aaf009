import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { useSession } from '../session/session.tsx';
import { dateOf } from './persona-card.tsx';
import { RegisteredScreen, SignUpForm, type Registered } from './sign-up.tsx';
import { territoryApi, type InvitationPreview } from './territory-api.ts';

const REASONS: Record<NonNullable<InvitationPreview['reason']>, string> = {
  revoked: 'It was withdrawn by the person who made it.',
  expired: 'It has expired.',
  'used-up': 'It has been used as often as it may be.',
  'territory-closed': 'Its territory no longer takes people in.',
};

/**
 * The landing page of a share link, `/invite#<token>`. The token rides in the fragment, which the
 * browser never sends to a server; the page reads it here and posts it in a request body.
 */
export function InviteLanding() {
  const token = decodeURIComponent(window.location.hash.slice(1));
  const { session, refresh } = useSession();
  const { route } = useLocation();
  const [preview, setPreview] = useState<InvitationPreview | null>(null);
  const [registered, setRegistered] = useState<Registered | null>(null);
  const load = useAction();
  const move = useAction();
  useEffect(() => {
    if (token) void load.run(async () => setPreview(await territoryApi.inspect(token)));
  }, [token]);
  if (registered) return <RegisteredScreen registered={registered} />;
  if (!token) return <Page title="Invitation"><p>This link carries no invitation. Ask for the full link, or scan the QR code again.</p></Page>;
  return (
    <Page title="You are invited">
      <ErrorNotice error={load.error} />
      {!preview && !load.error && <p aria-busy="true">Loading…</p>}
      {preview && (
        <div class="card stack" data-testid="invitation">
          <p class="lead">Join <strong>{preview.territory.name}</strong> <code>{preview.territory.code}</code></p>
          <p class="small muted">
            {preview.kind === 'group' ? 'A group invitation' : 'A personal invitation'}
            {preview.expiresAt ? `, valid until ${dateOf(preview.expiresAt)}` : ''}.
            {preview.invitedHandle ? ` It is for the handle @${preview.invitedHandle}.` : ''}
            {preview.emailRequired ? ' Only the address it was sent to may use it.' : ''}
          </p>
          {!preview.usable && <p class="notice notice-error" role="alert">This invitation cannot be used. {preview.reason ? REASONS[preview.reason] : ''}</p>}
        </div>
      )}
      {preview?.usable && session?.anonymous && (
        <SignUpForm territory={preview.territory.code} invitation={token} onRegistered={setRegistered} />
      )}
      {preview?.usable && session && !session.anonymous && (
        <div class="card stack">
          <p>You already have an account. You can move your data to {preview.territory.name} with this invitation.</p>
          <ErrorNotice error={move.error} />
          <button type="button" class="button primary" disabled={move.busy} onClick={() => move.run(async () => {
            await territoryApi.move(preview.territory.code, false, token);
            await refresh();
            route('/me/territory');
          })}>Move to {preview.territory.name}</button>
        </div>
      )}
    </Page>
  );
}

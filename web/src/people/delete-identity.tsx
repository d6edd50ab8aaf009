import { useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ErrorNotice } from '../components/error-notice.tsx';
import { useAction } from '../components/use-action.ts';
import { useSession } from '../session/session.tsx';
import { accountApi } from './account-api.ts';
import { useStepUp } from './step-up.tsx';

/**
 * The right to erasure for the whole person (DELETE /api/v2/auth/identity), behind a dialog that says
 * what goes, what stays and why (docs/auth-methods.md, Deleting your identity), and that nothing can
 * be restored. Afterwards the browser is signed out and lands on the welcome screen.
 */
export function DeleteIdentity({ anonymous }: { anonymous: boolean }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [understood, setUnderstood] = useState(false);
  const { refresh } = useSession();
  const { route } = useLocation();
  const action = useAction();
  const ask = () => {
    setUnderstood(false);
    dialog.current?.showModal();
  };
  // Back from a social step-up, the offer opens this dialog again: the person confirms once more.
  const stepUp = useStepUp(action.run, {
    change: { name: 'delete-identity', doing: 'delete your identity', redo: { label: 'Continue deleting my identity…', run: ask } },
  });
  const erase = () => stepUp.run(async () => {
    const { purgeAfter } = await accountApi.deleteIdentity();
    await refresh();
    route(`/?deleted=${encodeURIComponent(purgeAfter)}`);
  });
  return (
    <section class="card stack tight" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete your identity</h2>
      <p class="small">
        {anonymous ? 'Deletes this guest identity' : 'Deletes you as a whole'}: every persona and every way you sign in, on
        every device. It cannot be undone.
      </p>
      {stepUp.dialog}
      <ErrorNotice error={action.error} />
      <div class="actions">
        <button type="button" class="button danger" disabled={action.busy} onClick={ask}>Delete my identity…</button>
      </div>
      <dialog ref={dialog} aria-labelledby="delete-dialog-title" aria-describedby="delete-dialog-what">
        <form method="dialog" class="stack" onSubmit={(event) => {
          const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
          if (submitter?.value === 'delete') void erase();
        }}>
          <h2 id="delete-dialog-title">Delete your whole identity?</h2>
          <div id="delete-dialog-what">
            <h3>Deleted now</h3>
            <ul>
              <li>Every persona of yours: anonymized at once (a random name, no avatar), gone from every public view.</li>
              <li>
                {anonymous
                  ? 'This guest identity: the browser\'s cookie no longer leads to it.'
                  : 'Every way you sign in (email address, handle, passkeys, keys, wallets, social accounts), with its password and keys.'}
              </li>
              <li>Every session, on every device, and your personas' session wallet keys.</li>
            </ul>
            <h3>Kept, and why</h3>
            <ul>
              <li>
                A keyed hash of each sign-in method (never the address or identifier itself), tied to a pseudonymous record of
                your standing, so that deleting and starting again cannot shed a ban or a risk mark. It is forgotten at the
                purge, unless trust &amp; safety had marked this identity.
              </li>
              <li>Your handles stay issued and are never given to anyone else, so nobody can inherit your addresses.</li>
              <li>The audit log of security and moderation actions, which cannot be edited.</li>
              <li>Identity data you chose to share belongs to this browser: delete it on the <a href="/me/identification">Identification</a> page.</li>
            </ul>
            <h3>Grace period</h3>
            <p>
              The anonymized records are purged for good after a grace period, 90 days unless this service set another (longer while a legal hold or an appeal is pending).
              The grace period is no way back: nothing can be restored. Signing in again later starts a new, empty identity.
            </p>
          </div>
          <label class="check">
            <input type="checkbox" checked={understood} onChange={(event) => setUnderstood(event.currentTarget.checked)} />
            I understand that my identity is deleted for good
          </label>
          <div class="actions">
            <button class="button danger" type="submit" value="delete" disabled={!understood}>Delete my identity</button>
            <button class="button" type="submit" value="cancel">Cancel</button>
          </div>
        </form>
      </dialog>
    </section>
  );
}

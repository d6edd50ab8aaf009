import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { useSession } from '../session/session.tsx';
import { accountApi } from './account-api.ts';
import { DeleteIdentity } from './delete-identity.tsx';
import { RecoveryCodes } from './recovery-codes.tsx';
import { SessionWallet } from './session-wallet.tsx';
import { useStepUp } from './step-up.tsx';
import { PASSWORD_HINT, PASSWORD_MIN_LENGTH } from './password-policy.ts';

/** The account itself: password, recovery codes, the acting persona's session wallet, deleting everything. */
export function Account() {
  const { session } = useSession();
  return (
    <Page title="Account" intro="Your password and recovery codes, your persona's session wallet, and deleting your identity.">
      {session === null ? <p aria-busy="true">Loading…</p> : (
        <>
          {session.anonymous ? (
            <p class="card">You are a guest: there is no password here. <a href="/sign-up">Create an account</a> to add one.</p>
          ) : (
            <>
              <ChangePassword />
              <RecoveryCodesPanel />
            </>
          )}
          {session.persona && <SessionWallet persona={session.persona} />}
          <DeleteIdentity anonymous={session.anonymous} />
        </>
      )}
    </Page>
  );
}


/** Set or change the password (PUT /api/v2/auth/password): needs a fresh sign-in; other devices are signed out. */
function ChangePassword() {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const [mismatch, setMismatch] = useState(false);
  const action = useAction();
  const stepUp = useStepUp(action.run, {
    change: { name: 'change-password', doing: 'change your password', hint: 'Type the new password again: it was not kept while you were away.' },
  });
  return (
    <section class="card stack tight" aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      {stepUp.dialog}
      <form class="stack" aria-label="Change password" onSubmit={(event) => {
        event.preventDefault();
        setNotice(null);
        setMismatch(password !== repeat);
        if (password !== repeat) return;
        void stepUp.run(async () => {
          const { otherSessionsEnded } = await accountApi.changePassword(password);
          setPassword('');
          setRepeat('');
          setNotice(`Password changed. ${otherSessionsEnded === 0 ? 'No other session was open.' : `Signed out ${otherSessionsEnded} other ${otherSessionsEnded === 1 ? 'session' : 'sessions'}.`}`);
        });
      }}>
        <Field label="New password" type="password" value={password} onValue={setPassword} autoComplete="new-password" minLength={PASSWORD_MIN_LENGTH} maxLength={256}
          hint={PASSWORD_HINT} required />
        <Field label="Repeat the new password" type="password" value={repeat} onValue={setRepeat} autoComplete="new-password" required />
        <ErrorNotice error={mismatch ? new Error('The two passwords differ: type the same new password twice.') : action.error} />
        {notice && <p class="notice" role="status">{notice}</p>}
        <p class="small muted">Changing it signs you out on every other device.</p>
        <button class="button primary" type="submit" disabled={action.busy}>Change password</button>
      </form>
    </section>
  );
}

/** A handle account's recovery codes: how many are left, and new ones (shown once) in place of them all. */
function RecoveryCodesPanel() {
  const [remaining, setRemaining] = useState<number | null | undefined>(undefined);
  const [codes, setCodes] = useState<readonly string[] | null>(null);
  const action = useAction();
  const regenerate = () => void stepUp.run(async () => setCodes(await accountApi.regenerateRecoveryCodes()));
  const stepUp = useStepUp(action.run, {
    change: { name: 'recovery-codes', doing: 'make new recovery codes', redo: { label: 'Make the new codes now', run: regenerate } },
  });
  const load = () => action.run(async () => setRemaining(await accountApi.remainingRecoveryCodes()));
  useEffect(() => void load(), []);
  // An email account recovers through its mailbox: it has no codes, and nothing is shown.
  if (remaining === null) return null;
  if (codes) return <RecoveryCodes codes={codes} onDone={() => { setCodes(null); void load(); }} />;
  return (
    <section class="card stack tight" aria-labelledby="recovery-title">
      <h2 id="recovery-title">Recovery codes</h2>
      {remaining === undefined ? <p aria-busy="true">Loading…</p> : (
        <p data-testid="recovery-remaining">
          You have <strong>{remaining}</strong> unused recovery {remaining === 1 ? 'code' : 'codes'}.
          {remaining <= 3 && ' Make new ones before you run out: without an email address, they are your way back in.'}
        </p>
      )}
      <p class="small">New codes replace all of them: every earlier code stops working, used or not. They are shown once.</p>
      {stepUp.dialog}
      <ErrorNotice error={action.error} />
      <div class="actions">
        <button type="button" class="button" disabled={action.busy}
          onClick={regenerate}>Make new recovery codes</button>
      </div>
    </section>
  );
}

import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api } from '../api/client.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { useSession } from '../session/session.tsx';
import { PASSWORD_HINT, PASSWORD_MIN_LENGTH } from './password-policy.ts';

/** A handle account without email regains access with one of its recovery codes and a new password. */
export function Recover() {
  const [handle, setHandle] = useState('');
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const { refresh } = useSession();
  const { route } = useLocation();
  const action = useAction();
  return (
    <Page title="Recover a handle account" intro="Use one of the recovery codes you were shown at sign-up. Each code works once.">
      <form class="card stack" aria-label="Recover with a recovery code" onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          await api.post('/auth/recover', { handle: handle.trim(), recoveryCode: code.trim(), newPassword: password });
          await refresh();
          route('/');
        });
      }}>
        <Field label="Handle" value={handle} onValue={setHandle} autoComplete="username" required />
        <Field label="Recovery code" value={code} onValue={setCode} autoComplete="off" spellcheck={false} hint="Case, spaces and dashes do not matter." required />
        <Field label="New password" type="password" value={password} onValue={setPassword} autoComplete="new-password"
          minLength={PASSWORD_MIN_LENGTH} hint={PASSWORD_HINT} required />
        <ErrorNotice error={action.error} />
        <button class="button primary" type="submit" disabled={action.busy}>Recover and sign in</button>
      </form>
    </Page>
  );
}

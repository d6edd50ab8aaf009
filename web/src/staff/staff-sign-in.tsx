import { useState } from 'preact/hooks';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { sessionEndedBecause, signInStaff } from './staff-auth.ts';

/** Sign-in with an admin token (issued by an admin with POST /admin/tokens). */
export function StaffSignIn() {
  const [token, setToken] = useState('');
  const action = useAction();
  const ended = sessionEndedBecause();
  return (
    <Page title="Staff console" intro="For trust & safety staff. Sign in with the admin token you were given.">
      {ended && !action.error && <p class="notice notice-error" role="alert">{ended}</p>}
      <form
        class="card stack"
        aria-label="Staff sign-in"
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(async () => {
            await signInStaff(token.trim());
            setToken('');
          });
        }}
      >
        <Field
          label="Admin token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={token}
          onValue={setToken}
          hint="Kept in this tab's memory only: reloading the page or closing the tab signs you out. Every action is audited under your token's name."
          required
        />
        <ErrorNotice error={action.error} />
        <button class="button primary" type="submit" disabled={action.busy}>Sign in to the console</button>
      </form>
    </Page>
  );
}

import { useState } from 'preact/hooks';
import { ErrorNotice } from '../../components/error-notice.tsx';
import { Field } from '../../components/field.tsx';
import { useAction } from '../../components/use-action.ts';

export type Credentials = { email: string; password: string } | { handle: string; password: string };

/** An identifier with an @ is an email address; without one it is a handle (spec 004 handles have none). */
export function credentialsOf(identifier: string, password: string): Credentials {
  const trimmed = identifier.trim();
  return trimmed.includes('@') ? { email: trimmed, password } : { handle: trimmed, password };
}

/**
 * Email or handle and password: signing in, and confirming it is you (a password step-up). The
 * screen posts the credentials; this form only gathers them.
 */
export function PasswordForm({ label, submit, note, onCredentials }: {
  label: string;
  submit: string;
  note?: string;
  onCredentials: (credentials: Credentials) => Promise<void>;
}) {
  const [identifier, setIdentifier] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  return (
    <form class="card stack" aria-label={label} onSubmit={(event) => {
      event.preventDefault();
      void action.run(() => onCredentials(credentialsOf(identifier, password)));
    }}>
      {note && <p class="small">{note}</p>}
      <Field label="Email or handle" value={identifier} onValue={setIdentifier} autoComplete="username" required />
      <Field label="Password" type="password" value={password} onValue={setPassword} autoComplete="current-password" required />
      <ErrorNotice error={action.error} />
      <button class="button primary" type="submit" disabled={action.busy}>{submit}</button>
    </form>
  );
}

import { useState } from 'preact/hooks';
import { ApiError, api } from '../api/client.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { useAction } from '../components/use-action.ts';
import { credentialsOf } from './sign-in.tsx';

export const needsStepUp = (error: unknown) => error instanceof ApiError && error.code === 'STEP_UP_REQUIRED';

/**
 * "Confirm it is you": sensitive changes (link, unlink, delete) need a sign-in from the last minutes.
 * Signing in again with the password counts (docs/auth-methods.md, Step-up); then the change is retried.
 */
export function StepUpForm({ onConfirmed, onCancel }: { onConfirmed: () => Promise<void>; onCancel: () => void }) {
  const [identifier, setIdentifier] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  return (
    <form class="card stack" aria-label="Confirm it is you" onSubmit={(event) => {
      event.preventDefault();
      void action.run(async () => {
        await api.post('/auth/login', credentialsOf(identifier, password));
        await onConfirmed();
      });
    }}>
      <h2>Confirm it is you</h2>
      <p class="small">This change needs a fresh sign-in. Enter your email or handle and password again.</p>
      <Field label="Email or handle" value={identifier} onValue={setIdentifier} autoComplete="username" required />
      <Field label="Password" type="password" value={password} onValue={setPassword} autoComplete="current-password" required />
      <ErrorNotice error={action.error} />
      <div class="actions">
        <button class="button primary" type="submit" disabled={action.busy}>Confirm</button>
        <button class="button" type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

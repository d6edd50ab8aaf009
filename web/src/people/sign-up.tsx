import { useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { useSession } from '../session/session.tsx';
import { guestPersonasOf, offerGuestMerge } from './guest-merge.tsx';
import { RecoveryCodes } from './recovery-codes.tsx';
import { PASSWORD_HINT, PASSWORD_MIN_LENGTH } from './password-policy.ts';

type Kind = 'email' | 'handle';

export interface Registered {
  readonly displayName: string;
  readonly handle?: string;
  readonly recoveryCodes?: readonly string[];
}

/**
 * Sign up with an email address, or with a handle and no email at all. A handle account has no
 * mailbox to recover through, so its recovery codes are shown here once and never again.
 */
export function SignUp() {
  const [registered, setRegistered] = useState<Registered | null>(null);
  if (registered) return <RegisteredScreen registered={registered} />;
  return (
    <Page title="Create an account" intro="Your guest identity is not merged into the new account unless you choose to bring it along afterwards.">
      <SignUpForm onRegistered={setRegistered} />
      <p class="muted">Already have an account? <a href="/sign-in">Sign in</a>.</p>
    </Page>
  );
}

export function RegisteredScreen({ registered }: { registered: Registered }) {
  return (
    <Page title="Welcome aboard" intro={`You are signed in as ${registered.displayName}${registered.handle ? ` (@${registered.handle})` : ''}.`}>
      {registered.recoveryCodes ? <RecoveryCodes codes={registered.recoveryCodes} /> : <a class="button primary" href="/">Continue</a>}
    </Page>
  );
}

/** The sign-up form; an invitation landing passes the territory and the invitation token it leads with. */
export function SignUpForm({ onRegistered, territory, invitation }: { onRegistered: (registered: Registered) => void; territory?: string; invitation?: string }) {
  const [kind, setKind] = useState<Kind>('email');
  const [identifier, setIdentifier] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const { session, refresh } = useSession();
  const action = useAction();
  return (
    <>
      <div class="segmented" role="group" aria-label="Sign up with">
        <button type="button" class="button" aria-pressed={kind === 'email'} onClick={() => setKind('email')}>Email</button>
        <button type="button" class="button" aria-pressed={kind === 'handle'} onClick={() => setKind('handle')}>Handle, no email</button>
      </div>
      <form
        class="card stack"
        aria-label="Create an account"
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(async () => {
            const who = kind === 'email' ? { email: identifier.trim() } : { handle: identifier.trim() };
            const where = { ...(territory ? { territory } : {}), ...(invitation ? { invitation } : {}) };
            const guestPersonas = await guestPersonasOf(session);
            const answer = await api.post<Registered>('/auth/register', { ...who, password, initialDisplayName: displayName.trim(), ...where });
            offerGuestMerge(guestPersonas);
            await refresh();
            onRegistered(answer);
          });
        }}
      >
        {kind === 'email' ? (
          <Field label="Email" type="email" value={identifier} onValue={setIdentifier} autoComplete="email" required />
        ) : (
          <Field label="Handle" value={identifier} onValue={setIdentifier} autoComplete="username" pattern="[A-Za-z0-9_]{3,50}"
            hint="3 to 50 letters, digits or _. It becomes your address, like handle@territory." required />
        )}
        <Field label="Password" type="password" value={password} onValue={setPassword} autoComplete="new-password" minLength={PASSWORD_MIN_LENGTH}
          hint={PASSWORD_HINT} required />
        <Field label="Display name" value={displayName} onValue={setDisplayName} autoComplete="nickname" maxLength={128}
          hint="What others see. You can rotate it or add more personas later." required />
        <ErrorNotice error={action.error} />
        <button class="button primary" type="submit" disabled={action.busy}>Create account</button>
      </form>
    </>
  );
}

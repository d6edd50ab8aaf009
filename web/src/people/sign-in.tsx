import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api } from '../api/client.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { Page } from '../components/page.tsx';
import { useAction } from '../components/use-action.ts';
import { useSession } from '../session/session.tsx';
import { KeySignIn } from './key-sign-in.tsx';
import { PasskeySignIn } from './passkey-sign-in.tsx';
import { SocialSignIn } from './social-sign-in.tsx';
import { WalletSignIn } from './wallet-sign-in.tsx';

type Method = 'password' | 'email-code' | 'passkey' | 'wallet' | 'key';

const METHODS: ReadonlyArray<{ id: Method; label: string }> = [
  { id: 'password', label: 'Password' },
  { id: 'email-code', label: 'Email code' },
  { id: 'passkey', label: 'Passkey' },
  { id: 'wallet', label: 'Wallet' },
  { id: 'key', label: 'Key' },
];

/** Sign in with any method this browser can do; each one ends on the same signed-in home. */
export function SignIn() {
  const [method, setMethod] = useState<Method>('password');
  const { refresh } = useSession();
  const { route } = useLocation();
  const done = async () => {
    await refresh();
    route('/');
  };
  return (
    <Page title="Sign in" intro="Signing in keeps your personas across devices. Your guest identity stays unlinked unless you link it.">
      <div class="segmented" role="group" aria-label="Sign-in method">
        {METHODS.map((item) => (
          <button key={item.id} type="button" class="button" aria-pressed={method === item.id} onClick={() => setMethod(item.id)}>
            {item.label}
          </button>
        ))}
      </div>
      {method === 'password' && <PasswordSignIn onDone={done} />}
      {method === 'email-code' && <EmailCodeSignIn onDone={done} />}
      {method === 'passkey' && <PasskeySignIn onDone={done} />}
      {method === 'wallet' && <WalletSignIn onDone={done} />}
      {method === 'key' && <KeySignIn onDone={done} />}
      <SocialSignIn />
      <p class="muted">
        New here? <a href="/sign-up">Create an account</a>. Lost the password of a handle account? <a href="/recover">Use a recovery code</a>.
      </p>
    </Page>
  );
}

/** An identifier with an @ is an email address; without one it is a handle (spec 004 handles have none). */
export function credentialsOf(identifier: string, password: string) {
  const trimmed = identifier.trim();
  return trimmed.includes('@') ? { email: trimmed, password } : { handle: trimmed, password };
}

function PasswordSignIn({ onDone }: { onDone: () => Promise<void> }) {
  const [identifier, setIdentifier] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  return (
    <form
      class="card stack"
      aria-label="Sign in with a password"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          await api.post('/auth/login', credentialsOf(identifier, password));
          await onDone();
        });
      }}
    >
      <Field label="Email or handle" value={identifier} onValue={setIdentifier} autoComplete="username" required />
      <Field label="Password" type="password" value={password} onValue={setPassword} autoComplete="current-password" required />
      <ErrorNotice error={action.error} />
      <button class="button primary" type="submit" disabled={action.busy}>Sign in</button>
    </form>
  );
}

function EmailCodeSignIn({ onDone }: { onDone: () => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState(false);
  const action = useAction();
  if (!sent) {
    return (
      <form
        class="card stack"
        aria-label="Get a sign-in code by email"
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(async () => {
            await api.post('/api/v2/auth/challenge', { strategy: 'email', email: email.trim() });
            setSent(true);
          });
        }}
      >
        <Field label="Email" type="email" value={email} onValue={setEmail} autoComplete="email" required />
        <ErrorNotice error={action.error} />
        <button class="button primary" type="submit" disabled={action.busy}>Send me a code</button>
      </form>
    );
  }
  return (
    <form
      class="card stack"
      aria-label="Enter the code from the email"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          await api.post('/api/v2/auth/authenticate', { strategy: 'email', email: email.trim(), code: code.trim() });
          await onDone();
        });
      }}
    >
      <p role="status">We sent a six-digit code to {email.trim()}. It works once, for 10 minutes.</p>
      <Field label="Code" value={code} onValue={setCode} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" required />
      <ErrorNotice error={action.error} />
      <button class="button primary" type="submit" disabled={action.busy}>Sign in</button>
      <button class="button link" type="button" onClick={() => setSent(false)}>Use another address</button>
    </form>
  );
}

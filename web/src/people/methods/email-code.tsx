import { useState } from 'preact/hooks';
import { ErrorNotice } from '../../components/error-notice.tsx';
import { Field } from '../../components/field.tsx';
import { useAction } from '../../components/use-action.ts';
import { finishLabel, startCeremony, type OnProof, type Purpose } from './ceremony.ts';

const ASK_LABEL: Record<Purpose, string> = {
  'sign-in': 'Get a sign-in code by email',
  link: 'Get a code to prove the address',
  'step-up': 'Get a code by email',
};

/** A six-digit code mailed to the address proves the mailbox: to sign in, to link the address, to step up. */
export function EmailCodeCeremony({ purpose, onProof, hints }: { purpose: Purpose; onProof: OnProof; hints?: Readonly<Record<string, string>> }) {
  const [email, setEmail] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState(false);
  const action = useAction();
  if (!sent) {
    return (
      <form class="card stack" aria-label={ASK_LABEL[purpose]} onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          await startCeremony('email', purpose, { email: email.trim() });
          setSent(true);
        });
      }}>
        <Field label="Email" type="email" value={email} onValue={setEmail} autoComplete="email" required />
        <ErrorNotice error={action.error} hints={hints} />
        <button class="button primary" type="submit" disabled={action.busy}>Send me a code</button>
      </form>
    );
  }
  return (
    <form class="card stack" aria-label="Enter the code from the email" onSubmit={(event) => {
      event.preventDefault();
      void action.run(() => onProof({ email: email.trim(), code: code.trim() }));
    }}>
      <p role="status">We sent a six-digit code to {email.trim()}. It works once, for 10 minutes.</p>
      <Field label="Code" value={code} onValue={setCode} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" required />
      <ErrorNotice error={action.error} hints={hints} />
      <button class="button primary" type="submit" disabled={action.busy}>{finishLabel(purpose, 'Link this address')}</button>
      <button class="button link" type="button" onClick={() => setSent(false)}>Use another address</button>
    </form>
  );
}

import { useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { Field } from '../components/field.tsx';
import { useAction } from '../components/use-action.ts';

/**
 * Sign in with an ed25519 key (spec 004's cryptographic identity). The private key never comes near
 * the browser: the person's own agent or tool signs the message shown here, and the signature is pasted back.
 */
export function KeySignIn({ onDone }: { onDone: () => Promise<void> }) {
  const [publicKey, setPublicKey] = useState('');
  const [issued, setIssued] = useState<{ challenge: string; message: string } | null>(null);
  const [signature, setSignature] = useState('');
  const action = useAction();
  if (!issued) {
    return (
      <form class="card stack" aria-label="Sign in with a key" onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => setIssued(await api.post('/api/v2/auth/challenge', { strategy: 'key', publicKey: publicKey.trim() })));
      }}>
        <Field label="Public key" value={publicKey} onValue={setPublicKey} spellcheck={false} autoComplete="off"
          hint="The raw 32-byte ed25519 public key, base64url (43 characters)." required />
        <ErrorNotice error={action.error} />
        <button class="button primary" type="submit" disabled={action.busy}>Get the message to sign</button>
      </form>
    );
  }
  return (
    <form class="card stack" aria-label="Sign the message" onSubmit={(event) => {
      event.preventDefault();
      void action.run(async () => {
        await api.post('/api/v2/auth/authenticate', { strategy: 'key', publicKey: publicKey.trim(), challenge: issued.challenge, signature: signature.trim() });
        await onDone();
      });
    }}>
      <p>Sign exactly this text (UTF-8, plain Ed25519) with your key. Check that it names this site.</p>
      <pre class="card" data-testid="key-message">{issued.message}</pre>
      <Field label="Signature" value={signature} onValue={setSignature} spellcheck={false} autoComplete="off"
        hint="64 bytes, base64url (86 characters)." required />
      <ErrorNotice error={action.error} />
      <button class="button primary" type="submit" disabled={action.busy}>Sign in</button>
      <button class="button link" type="button" onClick={() => setIssued(null)}>Use another key</button>
    </form>
  );
}

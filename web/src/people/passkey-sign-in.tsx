import { startAuthentication, startRegistration, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { api } from '../api/client.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { useAction } from '../components/use-action.ts';

/**
 * Passkeys through @simplewebauthn/browser. A passkey is an account of its own (no email, no name):
 * "create" registers a new one on this device, "sign in" uses a discoverable one already there.
 */
export function PasskeySignIn({ onDone }: { onDone: () => Promise<void> }) {
  const action = useAction();
  const supported = typeof window !== 'undefined' && 'PublicKeyCredential' in window;
  const signIn = () => action.run(async () => {
    const { options } = await api.post<{ options: PublicKeyCredentialRequestOptionsJSON }>('/api/v2/auth/challenge', { strategy: 'passkey', mode: 'authenticate' });
    const response = await startAuthentication({ optionsJSON: options });
    await api.post('/api/v2/auth/authenticate', { strategy: 'passkey', response });
    await onDone();
  });
  const create = () => action.run(async () => {
    const { options } = await api.post<{ options: PublicKeyCredentialCreationOptionsJSON }>('/api/v2/auth/challenge', { strategy: 'passkey', mode: 'register' });
    const response = await startRegistration({ optionsJSON: options });
    await api.post('/api/v2/auth/authenticate', { strategy: 'passkey', response });
    await onDone();
  });
  if (!supported) return <p class="notice">This browser does not support passkeys.</p>;
  return (
    <div class="card stack" role="group" aria-label="Passkey">
      <p>Use the fingerprint, face or screen lock of this device, or a security key. No email or password involved.</p>
      <ErrorNotice error={action.error} />
      <div class="actions">
        <button class="button primary" type="button" disabled={action.busy} onClick={() => void signIn()}>Sign in with a passkey</button>
        <button class="button" type="button" disabled={action.busy} onClick={() => void create()}>Create a passkey</button>
      </div>
    </div>
  );
}

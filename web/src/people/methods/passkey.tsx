import { startAuthentication, startRegistration, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { ErrorNotice } from '../../components/error-notice.tsx';
import { useAction } from '../../components/use-action.ts';
import { startCeremony, withMethod, type OnProof, type Purpose } from './ceremony.ts';

/** Use a passkey already there (discoverable, or the person's own for a step-up), or create one. */
export type PasskeyMode = 'authenticate' | 'register';

const ABOUT: Record<Purpose, string> = {
  'sign-in': 'Use the fingerprint, face or screen lock of this device, or a security key. No email or password involved.',
  link: 'A new passkey on this device (or a security key) becomes one more way to sign in as you.',
  'step-up': 'Use one of your passkeys: the fingerprint, face or screen lock of this device, or your security key.',
};

/**
 * Passkeys through @simplewebauthn/browser. A passkey is an account of its own (no email, no name).
 * Signing in offers both modes; linking registers a new passkey; a step-up uses one of the person's.
 */
export function PasskeyCeremony({ purpose, modes, onProof }: { purpose: Purpose; modes: readonly PasskeyMode[]; onProof: OnProof }) {
  const action = useAction();
  if (typeof window === 'undefined' || !('PublicKeyCredential' in window)) return <p class="notice">This browser does not support passkeys.</p>;
  const run = (mode: PasskeyMode) => action.run(async () => {
    if (mode === 'authenticate') {
      const { options } = await startCeremony<{ options: PublicKeyCredentialRequestOptionsJSON }>('passkey', purpose, { mode });
      await onProof({ response: await startAuthentication({ optionsJSON: options }) });
    } else {
      const { options } = await startCeremony<{ options: PublicKeyCredentialCreationOptionsJSON }>('passkey', purpose, { mode });
      await onProof({ response: await startRegistration({ optionsJSON: options }) });
    }
  });
  const label = (mode: PasskeyMode) =>
    mode === 'authenticate' ? withMethod(purpose, 'a passkey') : purpose === 'link' ? 'Link a passkey' : 'Create a passkey';
  return (
    <div class="card stack" role="group" aria-label="Passkey">
      <p>{ABOUT[purpose]}</p>
      <ErrorNotice error={action.error} />
      <div class="actions">
        {modes.map((mode, index) => (
          <button key={mode} class={`button${index === 0 ? ' primary' : ''}`} type="button" disabled={action.busy} onClick={() => void run(mode)}>{label(mode)}</button>
        ))}
      </div>
    </div>
  );
}

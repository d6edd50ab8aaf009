import { useState } from 'preact/hooks';
import type { Proof, Strategy } from './methods/ceremony.ts';
import { EmailCodeCeremony } from './methods/email-code.tsx';
import { KeyCeremony } from './methods/key.tsx';
import { PasskeyCeremony } from './methods/passkey.tsx';
import { SocialButtons, useSocialProviders } from './methods/social.tsx';
import { WalletCeremony } from './methods/wallet.tsx';

type Kind = Exclude<Strategy, 'social'> | 'social';

const KINDS: ReadonlyArray<{ id: Kind; label: string }> = [
  { id: 'passkey', label: 'Passkey' },
  { id: 'wallet', label: 'Wallet' },
  { id: 'key', label: 'Key' },
  { id: 'email', label: 'Email' },
  { id: 'social', label: 'Another service' },
];

/**
 * Add any method to the signed-in person: its own ceremony made with `purpose: "link"` proves it
 * (POST /api/v2/auth/link-accounts needs both sides proven), and `onProof` links it. A social
 * account comes back through the callback page, which links it and returns here.
 */
export function LinkMethod({ onProof }: { onProof: (strategy: Strategy, proof: Proof) => Promise<void> }) {
  const [kind, setKind] = useState<Kind>('passkey');
  const [round, setRound] = useState(0);
  const providers = useSocialProviders();
  const kinds = KINDS.filter((item) => item.id !== 'social' || providers.length > 0);
  const link = (strategy: Strategy) => async (proof: Proof) => {
    await onProof(strategy, proof);
    setRound((value) => value + 1); // a fresh form for the next method
  };
  return (
    <section class="stack" aria-labelledby="link-method-title">
      <h2 id="link-method-title">Add a sign-in method</h2>
      <p class="small">
        Prove the new method once, and from then on it signs you in as the same person. Linking needs a recent sign-in:
        you may be asked to confirm it is you.
      </p>
      <div class="segmented" role="group" aria-label="Method to link">
        {kinds.map((item) => (
          <button key={item.id} type="button" class="button" aria-pressed={kind === item.id} onClick={() => setKind(item.id)}>{item.label}</button>
        ))}
      </div>
      <div key={`${kind}-${round}`}>
        {kind === 'passkey' && <PasskeyCeremony purpose="link" modes={['register']} onProof={link('passkey')} />}
        {kind === 'wallet' && <WalletCeremony purpose="link" onProof={link('wallet')} />}
        {kind === 'key' && <KeyCeremony purpose="link" onProof={link('key')} />}
        {kind === 'email' && <EmailCodeCeremony purpose="link" onProof={link('email')} />}
        {kind === 'social' && (
          <SocialButtons purpose="link" providers={providers} returnTo="/me/links"
            note="You sign in at the service and come back here. Only its account id is kept, never your address there." />
        )}
      </div>
    </section>
  );
}

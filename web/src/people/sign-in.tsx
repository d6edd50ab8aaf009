import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api } from '../api/client.ts';
import { Page } from '../components/page.tsx';
import { useSession } from '../session/session.tsx';
import { guestPersonasOf, offerGuestMerge } from './guest-merge.tsx';
import { spendProof, type Proof, type Strategy } from './methods/ceremony.ts';
import { EmailCodeCeremony } from './methods/email-code.tsx';
import { KeyCeremony } from './methods/key.tsx';
import { PasskeyCeremony } from './methods/passkey.tsx';
import { PasswordForm, type Credentials } from './methods/password.tsx';
import { SocialButtons, useSocialProviders } from './methods/social.tsx';
import { WalletCeremony } from './methods/wallet.tsx';

type Method = 'password' | 'email-code' | 'passkey' | 'wallet' | 'key';

const METHODS: ReadonlyArray<{ id: Method; label: string }> = [
  { id: 'password', label: 'Password' },
  { id: 'email-code', label: 'Email code' },
  { id: 'passkey', label: 'Passkey' },
  { id: 'wallet', label: 'Wallet' },
  { id: 'key', label: 'Key' },
];

/**
 * Sign in with any method this browser can do; each one ends on the same signed-in home, which then
 * asks whether to bring this browser's guest personas along (guest-merge.tsx).
 */
export function SignIn() {
  const [method, setMethod] = useState<Method>('password');
  const { session, refresh } = useSession();
  const { route } = useLocation();
  const providers = useSocialProviders();
  /** Signs in by `signIn`, noting first which personas the guest had (afterwards the session is the person's). */
  const signInThen = async (signIn: () => Promise<void>) => {
    const guestPersonas = await guestPersonasOf(session);
    await signIn();
    offerGuestMerge(guestPersonas);
    await refresh();
    route('/');
  };
  const withProof = (strategy: Strategy) => (proof: Proof) => signInThen(() => spendProof('sign-in', strategy, proof));
  const withPassword = (credentials: Credentials) => signInThen(async () => void (await api.post('/auth/login', credentials)));
  return (
    <Page title="Sign in" intro="Signing in keeps your personas across devices. Your guest identity stays unlinked unless you choose to bring it along.">
      <div class="segmented" role="group" aria-label="Sign-in method">
        {METHODS.map((item) => (
          <button key={item.id} type="button" class="button" aria-pressed={method === item.id} onClick={() => setMethod(item.id)}>
            {item.label}
          </button>
        ))}
      </div>
      {method === 'password' && <PasswordForm label="Sign in with a password" submit="Sign in" onCredentials={withPassword} />}
      {method === 'email-code' && <EmailCodeCeremony purpose="sign-in" onProof={withProof('email')} />}
      {method === 'passkey' && <PasskeyCeremony purpose="sign-in" modes={['authenticate', 'register']} onProof={withProof('passkey')} />}
      {method === 'wallet' && <WalletCeremony purpose="sign-in" onProof={withProof('wallet')} />}
      {method === 'key' && <KeyCeremony purpose="sign-in" onProof={withProof('key')} />}
      <SocialButtons purpose="sign-in" providers={providers} returnTo="/" beforeLeaving={async () => ({ guestPersonas: await guestPersonasOf(session) })} />
      <p class="muted">
        New here? <a href="/sign-up">Create an account</a>. Lost the password of a handle account? <a href="/recover">Use a recovery code</a>.
      </p>
    </Page>
  );
}

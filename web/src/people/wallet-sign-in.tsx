import { api } from '../api/client.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { useAction } from '../components/use-action.ts';

/** An injected EIP-1193 provider (a browser wallet's `window.ethereum`). */
interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

interface WalletChallenge {
  readonly nonce: string;
  readonly domain: string;
  readonly uri: string;
  readonly chainIds: readonly number[];
  readonly issuedAt: string;
  readonly expirationTime: string;
  readonly statement: string;
}

const injectedWallet = () => (window as unknown as { ethereum?: Eip1193Provider }).ethereum ?? null;

/**
 * Sign-In with Ethereum (EIP-4361) through the browser's wallet. viem (for the exact message grammar
 * and the EIP-55 address) loads only when someone uses this, so it costs the first load nothing.
 */
export function WalletSignIn({ onDone }: { onDone: () => Promise<void> }) {
  const action = useAction();
  const wallet = injectedWallet();
  if (!wallet) return <p class="notice">No browser wallet found. Install or unlock one (an EIP-1193 wallet such as MetaMask), then reload.</p>;
  const signIn = () => action.run(async () => {
    const [{ createSiweMessage }, { getAddress, stringToHex }] = await Promise.all([import('viem/siwe'), import('viem')]);
    const accounts = (await wallet.request({ method: 'eth_requestAccounts' })) as string[];
    if (!accounts[0]) throw new Error('The wallet shared no account.');
    const address = getAddress(accounts[0]);
    const challenge = await api.post<WalletChallenge>('/api/v2/auth/challenge', { strategy: 'wallet' });
    const message = createSiweMessage({
      address,
      domain: challenge.domain,
      uri: challenge.uri,
      chainId: challenge.chainIds[0] ?? 1,
      nonce: challenge.nonce,
      version: '1',
      issuedAt: new Date(challenge.issuedAt),
      expirationTime: new Date(challenge.expirationTime),
      statement: challenge.statement,
    });
    const signature = await wallet.request({ method: 'personal_sign', params: [stringToHex(message), address] });
    await api.post('/api/v2/auth/authenticate', { strategy: 'wallet', message, signature, walletAddress: address });
    await onDone();
  });
  return (
    <div class="card stack" role="group" aria-label="Wallet">
      <p>Your wallet signs a one-time message naming this site. No transaction, no fee.</p>
      <ErrorNotice error={action.error} />
      <button class="button primary" type="button" disabled={action.busy} onClick={() => void signIn()}>Sign in with a wallet</button>
    </div>
  );
}

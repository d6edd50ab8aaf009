import { ErrorNotice } from '../../components/error-notice.tsx';
import { useAction } from '../../components/use-action.ts';
import { startCeremony, withMethod, type OnProof, type Purpose } from './ceremony.ts';

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
 * Sign-In with Ethereum (EIP-4361) through the browser's wallet: the proof is the exact message and
 * its signature. viem (for the message grammar and the EIP-55 address) loads only when someone uses
 * this, so it costs the first load nothing.
 */
async function walletProof(wallet: Eip1193Provider, purpose: Purpose) {
  const [{ createSiweMessage }, { getAddress, stringToHex }] = await Promise.all([import('viem/siwe'), import('viem')]);
  const accounts = (await wallet.request({ method: 'eth_requestAccounts' })) as string[];
  if (!accounts[0]) throw new Error('The wallet shared no account.');
  const address = getAddress(accounts[0]);
  const challenge = await startCeremony<WalletChallenge>('wallet', purpose);
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
  return { message, signature, walletAddress: address };
}

export function WalletCeremony({ purpose, onProof }: { purpose: Purpose; onProof: OnProof }) {
  const action = useAction();
  const wallet = injectedWallet();
  if (!wallet) return <p class="notice">No browser wallet found. Install or unlock one (an EIP-1193 wallet such as MetaMask), then reload.</p>;
  return (
    <div class="card stack" role="group" aria-label="Wallet">
      <p>Your wallet signs a one-time message naming this site. No transaction, no fee.</p>
      <ErrorNotice error={action.error} />
      <button class="button primary" type="button" disabled={action.busy} onClick={() => void action.run(async () => onProof(await walletProof(wallet, purpose)))}>
        {withMethod(purpose, 'a wallet')}
      </button>
    </div>
  );
}

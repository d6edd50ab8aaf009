import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { createSiweMessage, type SiweMessage } from 'viem/siwe';

/** What `POST /api/v2/auth/challenge {strategy: 'wallet'}` answers (besides correlationId). */
export interface WalletChallenge {
  readonly nonce: string;
  readonly domain: string;
  readonly uri: string;
  readonly chainIds: readonly number[];
  readonly issuedAt: string;
  readonly expirationTime: string;
  readonly statement: string;
}

/** The body of `POST /api/v2/auth/authenticate` for a wallet. */
export interface WalletProof {
  readonly strategy: 'wallet';
  readonly message: string;
  readonly signature: `0x${string}`;
  readonly walletAddress: `0x${string}`;
  readonly walletType: string;
}

/** A fresh Ethereum key (secp256k1, from viem), as a wallet holds one. */
export function newWallet(): PrivateKeyAccount {
  return privateKeyToAccount(generatePrivateKey());
}

/**
 * Does what a wallet client does with a challenge: builds the EIP-4361 message from it (first chain
 * id, the challenge's issue and expiration times) and signs it (EIP-191 personal_sign) with a real
 * key. `overrides` change message fields after they are filled in, for negative cases.
 */
export async function signWalletChallenge(
  challenge: WalletChallenge,
  account: PrivateKeyAccount = newWallet(),
  overrides: Partial<SiweMessage> = {},
): Promise<WalletProof> {
  const message = createSiweMessage({
    address: account.address,
    domain: challenge.domain,
    uri: challenge.uri,
    chainId: challenge.chainIds[0] ?? 1,
    nonce: challenge.nonce,
    version: '1',
    issuedAt: new Date(challenge.issuedAt),
    expirationTime: new Date(challenge.expirationTime),
    statement: challenge.statement,
    ...overrides,
  });
  const signature = await account.signMessage({ message });
  return { strategy: 'wallet', message, signature, walletAddress: account.address, walletType: 'test' };
}

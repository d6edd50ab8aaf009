import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { DataBox } from '../../crypto/data-box.js';
import { AppError } from '../../errors.js';
import { normalizeAddress, walletKeyBinding, type WalletKey, type WalletKeyMaker } from './wallet.js';
import type { WalletRepository } from './wallet-repository.js';

/** Who asks: the account behind the request (privacy modes are already in its persona access). */
export interface WalletCaller {
  readonly accountId: string;
}

export interface WalletService {
  /** The persona's session wallet, made now if it has none (idempotent, safe under concurrency). */
  create(caller: WalletCaller, personaId: string): Promise<{ readonly address: string; readonly created: boolean }>;
  /** The persona's session wallet address (NOT_FOUND before one is made). */
  read(caller: WalletCaller, personaId: string): Promise<string>;
}

export interface WalletServiceDeps {
  readonly wallets: WalletRepository;
  /** Seals private keys under the wallet-keys purpose (WALLET_KEY_PURPOSE). */
  readonly box: DataBox;
  readonly makeKey?: WalletKeyMaker;
}

/** A fresh secp256k1 key from viem (its CSPRNG), and the address it controls. */
export const viemWalletKey: WalletKeyMaker = (): WalletKey => {
  const hex = generatePrivateKey();
  return { privateKey: Buffer.from(hex.slice(2), 'hex'), address: privateKeyToAccount(hex).address };
};

const personaNotFound = () => new AppError('PERSONA_NOT_FOUND', 'No persona with that id is yours to act as.');

export function createWalletService({ wallets, box, makeKey = viemWalletKey }: WalletServiceDeps): WalletService {
  async function accessible(caller: WalletCaller, personaId: string): Promise<void> {
    // Someone else's persona and no persona at all answer alike: ids are not probed this way.
    if (!(await wallets.isLiveAccessiblePersona(personaId, caller.accountId))) throw personaNotFound();
  }

  return {
    async create(caller, personaId) {
      await accessible(caller, personaId);
      const existing = await wallets.findAddress(personaId);
      if (existing) return { address: existing, created: false };

      const key = makeKey();
      const address = normalizeAddress(key.address);
      const { keyId, sealed } = box.seal(walletKeyBinding(personaId), key.privateKey);
      key.privateKey.fill(0); // the plaintext key is needed no longer than it takes to seal it
      if (await wallets.insert({ personaId, address, keyId, sealed })) return { address, created: true };
      // A concurrent request stored its wallet first: that one is the persona's; this key is dropped.
      const winner = await wallets.findAddress(personaId);
      if (!winner) throw personaNotFound(); // the persona was purged meanwhile
      return { address: winner, created: false };
    },

    async read(caller, personaId) {
      await accessible(caller, personaId);
      const address = await wallets.findAddress(personaId);
      if (!address) throw new AppError('NOT_FOUND', 'This persona has no session wallet yet. POST to this address to make one.');
      return address;
    },
  };
}

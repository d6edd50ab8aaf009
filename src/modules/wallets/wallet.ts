/**
 * SmartProfile session wallets (spec 003): each persona may have one Ethereum key of its own, for
 * activity in that context (signing as the persona, not as the person). The private key is made on
 * the server, sealed at rest and never returned; only the address leaves.
 */

/** The DataBox purpose of wallet keys: its own key, derived from EMAIL_KEYS (see crypto/data-box.ts). */
export const WALLET_KEY_PURPOSE = 'personae/wallet-keys/v1';

/** What a sealed wallet key is bound to, so a ciphertext copied to another persona's row does not open. */
export function walletKeyBinding(personaId: string): readonly string[] {
  return ['persona-wallet', personaId];
}

/** A new key: the 32 private bytes, and the address they control. */
export interface WalletKey {
  readonly privateKey: Buffer;
  readonly address: string;
}

/** Makes wallet keys (viem in production and in tests: real secp256k1 keys). */
export type WalletKeyMaker = () => WalletKey;

/**
 * Addresses are stored and answered in lowercase, as spec 003 writes identifiers: one spelling per
 * address, so the unique index holds and comparisons need no folding. (EIP-55 checksums are a
 * display concern; clients can apply them.)
 */
export function normalizeAddress(address: string): string {
  return address.toLowerCase();
}

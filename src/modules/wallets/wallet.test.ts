import { randomBytes, randomUUID } from 'node:crypto';
import { isAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { DataBox } from '../../crypto/data-box.js';
import { normalizeAddress, WALLET_KEY_PURPOSE, walletKeyBinding } from './wallet.js';
import { viemWalletKey } from './wallet-service.js';

const keys = [{ id: 'k1', secret: randomBytes(32).toString('base64url') }];

describe('session wallet keys', () => {
  it('are real secp256k1 keys controlling their address', () => {
    const key = viemWalletKey();
    expect(key.privateKey).toHaveLength(32);
    expect(isAddress(key.address)).toBe(true);
    expect(privateKeyToAccount(`0x${key.privateKey.toString('hex')}`).address).toBe(key.address);
    expect(viemWalletKey().address).not.toBe(key.address);
  });

  it('sealed for one persona do not open for another, nor under another purpose', () => {
    const persona = randomUUID();
    const box = new DataBox(keys, WALLET_KEY_PURPOSE);
    const key = viemWalletKey();
    const sealed = box.seal(walletKeyBinding(persona), key.privateKey);
    expect(box.open(walletKeyBinding(persona), sealed)).toEqual(key.privateKey);
    expect(box.open(walletKeyBinding(randomUUID()), sealed)).toBeNull();
    expect(new DataBox(keys, 'personae/signing-keys/v1').open(walletKeyBinding(persona), sealed)).toBeNull();
  });

  it('have one spelling of each address: lowercase', () => {
    const { address } = viemWalletKey();
    expect(normalizeAddress(address)).toBe(address.toLowerCase());
    expect(isAddress(normalizeAddress(address))).toBe(true);
  });
});

import { randomBytes } from 'node:crypto';
import Type from 'typebox';
import { AppError } from '../../errors.js';
import type { StrategyDeps } from '../strategies.js';
import type { SignInStrategy, VerifiedIdentity } from '../strategy.js';
import { parseSignInMessage, signInMessageProblem, type SignInExpectations } from './siwe-message.js';

/** Shown by the wallet above the message's fields (EIP-4361 `statement`, optional for clients). */
export const WALLET_STATEMENT = 'Sign in to personae.';

const challengeBody = Type.Object({}, { additionalProperties: false });

const challengeResponse = Type.Object({
  nonce: Type.String({ description: 'Goes into the message as `Nonce`; single use.' }),
  domain: Type.String({ description: 'The message `domain`: this service\'s host.' }),
  uri: Type.String({ description: 'The message `URI`: this service\'s public origin.' }),
  chainIds: Type.Array(Type.Integer(), { description: 'Chain ids a message may name.' }),
  issuedAt: Type.String({ format: 'date-time' }),
  expirationTime: Type.String({ format: 'date-time', description: 'When the nonce stops being accepted.' }),
  statement: Type.String(),
});

const proofBody = Type.Object(
  {
    message: Type.String({ minLength: 1, maxLength: 4096, description: 'The EIP-4361 message, exactly as signed.' }),
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$', description: 'EIP-191 personal_sign signature (65 bytes).' }),
    walletAddress: Type.Optional(Type.String({ pattern: '^0x[0-9a-fA-F]{40}$', description: 'If sent, must be the message\'s address.' })),
    walletType: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9 ._-]{1,40}$', description: 'Informational (e.g. metamask).' })),
  },
  { additionalProperties: false },
);

/**
 * Sign-In with Ethereum (EIP-4361). The server hands out a nonce and what a client needs to build
 * the message; the wallet signs it (EIP-191); the server parses it strictly, spends the nonce, checks
 * domain, URI, chain and times, then verifies the signature offline (externally owned accounts).
 */
export function createWalletStrategy(deps: StrategyDeps): SignInStrategy | null {
  const { config, verifications, hasher, clock } = deps;
  if (config.signIn.siweChainIds.length === 0) return null;
  const origin = new URL(config.publicOrigin);
  const ttlSeconds = config.signIn.challengeTtlSeconds;
  const expectations: SignInExpectations = {
    domain: origin.host,
    origin: origin.origin,
    chainIds: config.signIn.siweChainIds,
    maxAgeSeconds: ttlSeconds,
  };
  const challengeHash = (nonce: string) => hasher.hash('challenge', `wallet:${nonce}`);

  return {
    name: 'wallet',
    authenticator: true,
    challengeBody,
    challengeResponse,
    proofBody,

    async challenge() {
      // 128 bits from the system CSPRNG, hex (EIP-4361 wants an alphanumeric nonce). Not viem's
      // generateSiweNonce: it draws from a non-cryptographic generator, not meant for secrets.
      const nonce = randomBytes(16).toString('hex');
      await verifications.create({ strategy: 'wallet', challengeHash: challengeHash(nonce), state: {}, ttlSeconds });
      const issuedAt = clock.now();
      return {
        nonce,
        domain: expectations.domain,
        uri: expectations.origin,
        chainIds: [...expectations.chainIds],
        issuedAt: issuedAt.toISOString(),
        expirationTime: new Date(issuedAt.getTime() + ttlSeconds * 1000).toISOString(),
        statement: WALLET_STATEMENT,
      };
    },

    async verify(input): Promise<VerifiedIdentity> {
      const text = input.message as string;
      const signature = input.signature as `0x${string}`;
      const message = parseSignInMessage(text);
      if (!message) throw new AppError('VALIDATION_FAILED', 'The message is not a well-formed EIP-4361 (Sign-In with Ethereum) message.');
      // Spent before anything else is checked (as Better Auth's SIWE plugin does): of concurrent
      // attempts with one signed message exactly one gets here, and a failed attempt cannot be retried.
      const consumed = await verifications.consume('wallet', challengeHash(message.nonce));
      if (!consumed) throw new AppError('CHALLENGE_INVALID', 'The sign-in nonce is unknown, expired or already used. Ask for a new one.');
      const problem = signInMessageProblem(message, expectations, clock.now());
      if (problem) throw new AppError('PROOF_INVALID', problem);
      const address = (await viem()).getAddress(message.address);
      const claimed = input.walletAddress as string | undefined;
      if (claimed !== undefined && claimed.toLowerCase() !== address.toLowerCase()) {
        throw new AppError('PROOF_INVALID', 'walletAddress is not the address in the message.');
      }
      if (!(await signedBy(address, text, signature))) throw new AppError('PROOF_INVALID', 'The signature does not verify for the message\'s address.');
      // Spec 003: identifiers are lower-cased; the checksum was checked above, so nothing is lost.
      return { type: 'wallet', identifier: address.toLowerCase(), verified: true };
    },
  };
}

/**
 * viem's main entry is loaded on the first wallet sign-in, not at start: it is most of a second of
 * start-up and 20 MB of memory that a service whose visitors never use a wallet should not pay.
 */
let viemModule: Promise<typeof import('viem')> | undefined;
const viem = () => (viemModule ??= import('viem'));

/** EIP-191 personal_sign, recovered offline: externally owned accounts only (no contract wallets, no RPC). */
async function signedBy(address: `0x${string}`, message: string, signature: `0x${string}`): Promise<boolean> {
  try {
    return await (await viem()).verifyMessage({ address, message, signature });
  } catch {
    // A signature that is not a curve point or has a bad recovery byte.
    return false;
  }
}

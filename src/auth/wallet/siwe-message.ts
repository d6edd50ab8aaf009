import { createSiweMessage, parseSiweMessage, type SiweMessage } from 'viem/siwe';

/** A parsed EIP-4361 message with every field sign-in relies on present. */
export type SignInMessage = SiweMessage & { readonly issuedAt: Date };

/** Lines holding a date-time: any RFC 3339 spelling of the instant is valid, so they compare by prefix. */
const DATE_LINES = ['Issued At: ', 'Expiration Time: ', 'Not Before: '];

/**
 * Parses an EIP-4361 message and answers its fields only if the text is exactly the message those
 * fields make, line for line. viem's parser finds the fields with unanchored patterns, so on its
 * own it would accept text before, between or after them; a wallet shows the user the whole text,
 * and nothing outside the grammar should ride along on a signature we accept. Re-creating the
 * message also enforces the grammar's rules on each field (EIP-55 address, RFC 3986 URI and
 * domain, alphanumeric nonce, version 1, a one-line statement).
 */
export function parseSignInMessage(text: string): SignInMessage | null {
  const fields = parseSiweMessage(text);
  const { address, chainId, domain, nonce, uri, version, issuedAt } = fields;
  if (!address || chainId === undefined || !domain || !nonce || !uri || version !== '1' || !issuedAt) return null;
  const dates = [issuedAt, fields.expirationTime, fields.notBefore];
  if (dates.some((date) => date !== undefined && Number.isNaN(date.getTime()))) return null;
  const message: SignInMessage = { ...fields, address, chainId, domain, nonce, uri, version, issuedAt };
  let canonical: string;
  try {
    canonical = createSiweMessage(message);
  } catch {
    return null;
  }
  const given = text.split('\n');
  const expected = canonical.split('\n');
  if (given.length !== expected.length) return null;
  const same = given.every((line, index) => {
    const twin = expected[index] ?? '';
    return line === twin || DATE_LINES.some((prefix) => line.startsWith(prefix) && twin.startsWith(prefix));
  });
  return same ? message : null;
}

/** What this service accepts in a message: its own domain and origin, its chains, a fresh issue time. */
export interface SignInExpectations {
  /** The host (and port, if any) of the public origin: EIP-4361's `domain`. */
  readonly domain: string;
  /** The public origin (`https://id.example`): the message's URI must be on it. */
  readonly origin: string;
  readonly chainIds: readonly number[];
  /** How long after its issue time a message is still good (the challenge's lifetime). */
  readonly maxAgeSeconds: number;
}

/** How far ahead of our clock a wallet's clock may be. */
export const CLOCK_SKEW_SECONDS = 60;

/**
 * Why a well-formed message is not one this service accepts now, or null when it is. EIP-4361
 * §Verifying: the domain and URI must be ours (a message signed for another site cannot be replayed
 * here), the chain one we accept, and the message inside its validity window.
 */
export function signInMessageProblem(message: SignInMessage, expected: SignInExpectations, now: Date): string | null {
  if (message.domain !== expected.domain) return 'The message was made for another domain.';
  const scheme = new URL(expected.origin).protocol.slice(0, -1);
  if (message.scheme !== undefined && message.scheme !== scheme) return 'The message names another scheme.';
  if (originOf(message.uri) !== new URL(expected.origin).origin) return 'The message URI is not on this service.';
  if (!expected.chainIds.includes(message.chainId)) return 'The message names a chain this service does not accept.';
  const time = now.getTime();
  if (message.issuedAt.getTime() > time + CLOCK_SKEW_SECONDS * 1000) return 'The message is issued in the future.';
  if (time - message.issuedAt.getTime() > expected.maxAgeSeconds * 1000) return 'The message was issued too long ago.';
  if (message.expirationTime && time >= message.expirationTime.getTime()) return 'The message has expired.';
  if (message.notBefore && time < message.notBefore.getTime()) return 'The message is not valid yet.';
  return null;
}

function originOf(uri: string): string | null {
  try {
    return new URL(uri).origin;
  } catch {
    return null;
  }
}

import { randomInt } from 'node:crypto';

/** A code lives ten minutes: long enough to switch to a mail client, short enough to go stale. */
export const CODE_TTL_SECONDS = 600;

/**
 * Guesses per code. Six digits are a million values; five guesses give an attacker a 1 in 200,000
 * chance per code, and the sends per recipient bound how many codes there can be.
 */
export const MAX_ATTEMPTS = 5;

export const CODE_PATTERN = '^[0-9]{6}$';

/** Six decimal digits, uniform (`randomInt` rejects modulo bias), leading zeros kept. */
export function newCode(): string {
  return randomInt(0, 1_000_000).toString().padStart(6, '0');
}

/**
 * The secret a code's stored hash is made of: bound to its record, so two people (or two sends to
 * one person) who draw the same six digits never produce the same hash, and the unique
 * (strategy, challenge_hash) index never refuses a fresh code.
 */
export function codeSecret(verificationId: string, code: string): string {
  return `email:${verificationId}:${code}`;
}

export interface CodeMail {
  readonly subject: string;
  readonly text: string;
}

/**
 * The message: the code, how long it lives, and the one warning that stops most code phishing —
 * nobody from the service will ask for it. The code stays out of the subject, which lock screens
 * and notification previews show to anyone nearby.
 */
export function codeMail(code: string, publicOrigin: string, ttlSeconds = CODE_TTL_SECONDS): CodeMail {
  const site = new URL(publicOrigin).host;
  const minutes = Math.round(ttlSeconds / 60);
  return {
    subject: `Your sign-in code for ${site}`,
    text: [
      `Your sign-in code for ${site} is:`,
      '',
      `    ${code}`,
      '',
      `It is valid for ${minutes} minutes and works once. Enter it where you asked to sign in.`,
      '',
      `Nobody from ${site} will ever ask you for this code, by phone, mail or chat: never give it to anyone.`,
      'If you did not ask to sign in, ignore this message; without the code, nobody can use it.',
      '',
    ].join('\n'),
  };
}

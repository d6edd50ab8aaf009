import { dictionary } from '@zxcvbn-ts/language-common';

/** NIST SP 800-63B: length is what makes a password strong; 15 for a password that is the only factor. */
export const PASSWORD_MIN_LENGTH = 15;
/** Long enough for any passphrase; the cap bounds the hashing work one request can ask for. */
export const PASSWORD_MAX_LENGTH = 256;

/** Below this, a local part (`al@…`) is too short to be a meaningful thing to avoid in a password. */
const MIN_LOCAL_PART = 3;
/** A run shorter than this is not a "sequence": every password has pairs of neighbouring letters. */
const MIN_RUN = 3;

/** Alphabet, digits and keyboard rows, read forwards and backwards, wrapping around. */
const SEQUENCES = [
  'abcdefghijklmnopqrstuvwxyz',
  '0123456789',
  'qwertyuiopasdfghjklzxcvbnm',
  'qwertzuiopasdfghjklyxcvbnm',
  'azertyuiopqsdfghjklmwxcvbn',
  '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p',
  '!@#$%^&*()_+',
].flatMap((sequence) => {
  const reversed = [...sequence].reverse().join('');
  return [sequence + sequence, reversed + reversed];
});

let commonPasswords: ReadonlySet<string> | undefined;

/** zxcvbn-ts's list of ~49,000 passwords seen most in breaches, lower-cased; built on first use. */
function common(): ReadonlySet<string> {
  commonPasswords ??= new Set(dictionary['passwords-common'].map((entry) => entry.toLowerCase()));
  return commonPasswords;
}

/**
 * Why a password would be refused, as short phrases for the WEAK_PASSWORD message (empty: accepted).
 * The rules follow NIST SP 800-63B: a length range, no composition rules (no "one digit, one
 * symbol"), and a refusal of what attackers try first — breached and common passwords, repetitions,
 * sequences, and words from the account itself. Length counts characters (code points, after NFC),
 * not UTF-16 units or bytes, so a passphrase in any script is measured as a person would count it.
 */
export function passwordWeaknesses(password: string, email: string): string[] {
  const normalized = password.normalize('NFC');
  const length = [...normalized].length;
  if (length < PASSWORD_MIN_LENGTH) return [`it is shorter than ${PASSWORD_MIN_LENGTH} characters`];
  if (length > PASSWORD_MAX_LENGTH) return [`it is longer than ${PASSWORD_MAX_LENGTH} characters`];
  const lower = normalized.toLowerCase();
  const reasons: string[] = [];
  if (isCommon(lower)) reasons.push('it is a commonly used password, or one with only digits or symbols added');
  if (isRepetitive(lower)) reasons.push('it repeats the same few characters');
  if (isSequential(lower)) reasons.push('it is a simple sequence of letters, digits or keyboard keys');
  if (containsLocalPart(lower, email)) reasons.push('it contains the name part of your email address');
  return reasons;
}

function isCommon(lower: string): boolean {
  const list = common();
  const core = lower.replace(/^[\p{N}\p{P}\p{S}\s]+|[\p{N}\p{P}\p{S}\s]+$/gu, '');
  const unit = repeatedUnit(lower);
  return list.has(lower) || (core.length > 0 && list.has(core)) || (unit !== null && list.has(unit));
}

/** The shortest string the password is a repetition of (`abcabcabc` → `abc`), or null. */
function repeatedUnit(lower: string): string | null {
  const match = /^(.+?)\1+$/su.exec(lower);
  return match?.[1] ?? null;
}

function isRepetitive(lower: string): boolean {
  return new Set(lower).size <= 3 || repeatedUnit(lower) !== null;
}

/** True when the whole password is made of runs (of at least MIN_RUN) taken from the sequences. */
function isSequential(lower: string): boolean {
  let position = 0;
  while (position < lower.length) {
    const run = longestRun(lower, position);
    if (run < MIN_RUN) return false;
    position += run;
  }
  return true;
}

function longestRun(lower: string, from: number): number {
  let best = 0;
  for (const sequence of SEQUENCES) {
    let length = best + 1;
    while (from + length <= lower.length && sequence.includes(lower.slice(from, from + length))) length++;
    best = Math.max(best, length - 1);
  }
  return best;
}

function containsLocalPart(lower: string, email: string): boolean {
  const local = (email.split('@')[0] ?? '').split('+')[0]?.toLowerCase() ?? '';
  const bare = local.replace(/[._-]/g, '');
  return [local, bare].some((part) => part.length >= MIN_LOCAL_PART && lower.includes(part));
}

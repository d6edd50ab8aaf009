import { describe, expect, it } from 'vitest';
import { passwordWeaknesses } from './password-policy.js';

const email = 'alice.liddell@example.org';
const weaknesses = (password: string) => passwordWeaknesses(password, email);

describe('passwordWeaknesses', () => {
  it('accepts long passphrases with no composition rules (no digit or symbol needed)', () => {
    for (const password of ['violet kestrel orbits the quiet harbour', 'correcthorsebatterystaple', 'ünïcödé pässphräse hère', '木漏れ日の中で静かに本を読む午後のひととき']) {
      expect(weaknesses(password), password).toEqual([]);
    }
  });

  it('counts characters (code points after NFC), not UTF-16 units or bytes', () => {
    const emoji = '🦊🐙🦉🐢🦋🐝🦔🐳🦩🐌🦜🐞🦦🐧'; // 14 code points, 28 UTF-16 units
    expect(weaknesses(emoji)).toEqual(['it is shorter than 15 characters']);
    expect(weaknesses(`${emoji}🐋`)).toEqual([]);
    // 15 characters when composed, 17 code points decomposed: measured after NFC.
    const decomposed = 'cafe\u0301 cre\u0300me br8';
    expect([...decomposed]).toHaveLength(16);
    expect(weaknesses(decomposed)).toEqual(['it is shorter than 15 characters']);
  });

  it('refuses passwords outside 15..256 characters', () => {
    expect(weaknesses('short one')).toEqual(['it is shorter than 15 characters']);
    const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    expect(weaknesses([...long].slice(0, 256).join(''))).toEqual([]);
    expect(weaknesses([...long].slice(0, 257).join(''))).toEqual(['it is longer than 256 characters']);
  });

  it('refuses the common-password list, case-insensitively, and its entries with digits or symbols around them', () => {
    expect(weaknesses('passwordpassword')).toContain('it is a commonly used password, or one with only digits or symbols added');
    expect(weaknesses('PASSWORDPASSWORD')).toContain('it is a commonly used password, or one with only digits or symbols added');
    expect(weaknesses('password1234567!')).toContain('it is a commonly used password, or one with only digits or symbols added');
    expect(weaknesses('!!!sunshine2024!!')).toContain('it is a commonly used password, or one with only digits or symbols added');
  });

  it('refuses repetitions', () => {
    expect(weaknesses('aaaaaaaaaaaaaaaa')).toContain('it repeats the same few characters');
    expect(weaknesses('abcabcabcabcabcabc')).toContain('it repeats the same few characters');
    expect(weaknesses('xyzzy-xyzzy-xyzzy-')).toContain('it repeats the same few characters');
  });

  it('refuses sequences of letters, digits and keyboard keys', () => {
    for (const password of ['abcdefghijklmnop', '123456789012345', 'zyxwvutsrqponmlk', 'qwertyuiopasdfgh', 'qwertyuiop12345', '1qaz2wsx3edc4rfv5tgb']) {
      expect(weaknesses(password), password).toContain('it is a simple sequence of letters, digits or keyboard keys');
    }
  });

  it('refuses passwords containing the email address\'s name part', () => {
    expect(weaknesses('my name is alice.liddell ok')).toContain('it contains the name part of your email address');
    expect(weaknesses('ALICELIDDELL rocks the house')).toContain('it contains the name part of your email address');
    expect(passwordWeaknesses('al likes long walks on beaches', 'al@example.org')).toEqual([]); // too short to matter
    expect(passwordWeaknesses('bob+news secret words here', 'bob+news@example.org')).toContain('it contains the name part of your email address');
  });

  it('gives every reason that applies', () => {
    expect(passwordWeaknesses('alicealicealicealice', 'alice@example.org')).toEqual([
      'it is a commonly used password, or one with only digits or symbols added',
      'it repeats the same few characters',
      'it contains the name part of your email address',
    ]);
  });
});

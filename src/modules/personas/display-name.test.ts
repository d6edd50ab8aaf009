import { describe, expect, it } from 'vitest';
import { displayNameKey } from './display-name.js';
import { generateGuestName } from './guest-names.js';

describe('displayNameKey', () => {
  it('folds case, so names differing only in case collide', () => {
    expect(displayNameKey('Alice')).toBe('alice');
    expect(displayNameKey('ALICE')).toBe(displayNameKey('alice'));
    expect(displayNameKey('ÉLODIE')).toBe(displayNameKey('élodie'));
  });

  it('applies NFKC, so full-width and compatibility forms match their plain letters', () => {
    expect(displayNameKey('ＡＬＩＣＥ')).toBe('alice'); // full-width Latin
    expect(displayNameKey('ﬁnch')).toBe('finch'); // the "fi" ligature
    expect(displayNameKey('Agent ７')).toBe('agent 7'); // full-width digit
  });

  it('treats composed and decomposed accents as one name', () => {
    const composed = 'Ren\u00e9e';
    const decomposed = 'Rene\u0301e';
    expect(composed).not.toBe(decomposed);
    expect(displayNameKey(composed)).toBe(displayNameKey(decomposed));
  });

  it('trims the ends and collapses inner runs of any white space to one space', () => {
    expect(displayNameKey('  Quiet   Otter  ')).toBe('quiet otter');
    expect(displayNameKey('Quiet\tOtter\n')).toBe('quiet otter');
    // No-break and ideographic spaces would otherwise make look-alike twins.
    expect(displayNameKey('Quiet\u00a0Otter')).toBe('quiet otter');
    expect(displayNameKey('Quiet\u3000Otter')).toBe('quiet otter');
  });

  it('makes `Alice`, `alice ` and `ＡＬＩＣＥ` one name, as documented', () => {
    expect(new Set(['Alice', 'alice ', 'ＡＬＩＣＥ'].map(displayNameKey))).toEqual(new Set(['alice']));
  });

  it('keeps genuinely different names apart', () => {
    expect(displayNameKey('Quiet Otter')).not.toBe(displayNameKey('QuietOtter'));
    expect(displayNameKey('Alice')).not.toBe(displayNameKey('Alicia'));
  });

  it('is idempotent: a key is its own key', () => {
    for (const name of ['  ＡＬＩＣＥ  Ｓmith ', 'Ren\u0065\u0301e', 'ﬁnch\u3000Ⅻ']) {
      const key = displayNameKey(name);
      expect(displayNameKey(key)).toBe(key);
    }
  });
});

describe('generateGuestName', () => {
  const GUEST_NAME = /^([A-Z][a-z]+) ([A-Z][a-z]+) (\d{5})$/;

  it('looks like `Quiet Otter 48213`: adjective, animal, a five-digit number', () => {
    for (let i = 0; i < 200; i++) {
      const match = GUEST_NAME.exec(generateGuestName());
      expect(match).not.toBeNull();
      const number = Number(match?.[3]);
      expect(number).toBeGreaterThanOrEqual(10_000);
      expect(number).toBeLessThanOrEqual(99_999);
    }
  });

  it('varies: 200 draws give (almost) 200 different names', () => {
    const names = new Set(Array.from({ length: 200 }, generateGuestName));
    // ~159 million combinations: more than a handful of repeats would mean a broken generator.
    expect(names.size).toBeGreaterThan(195);
  });

  it('draws from more than one adjective and animal', () => {
    const parts = Array.from({ length: 200 }, () => generateGuestName().split(' '));
    expect(new Set(parts.map(([adjective]) => adjective)).size).toBeGreaterThan(10);
    expect(new Set(parts.map(([, animal]) => animal)).size).toBeGreaterThan(10);
  });

  it('is already in a simple form: its key is just the lower-cased name', () => {
    for (let i = 0; i < 50; i++) {
      const name = generateGuestName();
      expect(displayNameKey(name)).toBe(name.toLowerCase());
    }
  });
});

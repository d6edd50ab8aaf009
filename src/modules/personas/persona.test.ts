import { describe, expect, it } from 'vitest';
import { displayNameKey, displayNameProblem, normalizeDisplayName } from './display-name.js';
import { avatarUrlProblem, personaState, toPublicPersona, type PersonaRecord } from './persona.js';

const record: PersonaRecord = {
  id: '7d0f3c0e-3f43-4b43-9d55-8f7b8b0c1a11',
  accountabilityProfileId: '0b6f1a7e-9f53-4a8e-8b0c-3b5e2b9f4c22',
  displayName: 'Quiet Otter',
  displayNameKey: 'quiet otter',
  avatarUrl: null,
  authorId: 'k1.abc',
  trustLevel: 'NEW',
  trustGrantedAt: new Date('2025-01-01T00:00:00Z'),
  origin: 'created',
  isActive: true,
  createdAt: new Date('2025-01-01T00:00:00Z'),
  deletedAt: null,
  deactivatedAt: null,
  purgeAfter: null,
  ownerAccountId: null,
};

describe('toPublicPersona', () => {
  it('never carries the accountability profile id, or any field beyond the public ones', () => {
    const shown = toPublicPersona(record, false);
    expect(Object.keys(shown).sort()).toEqual(
      ['active', 'authorId', 'avatarUrl', 'createdAt', 'displayName', 'id', 'restorableUntil', 'trustLevel', 'verified'].sort(),
    );
    expect(JSON.stringify(shown)).not.toContain(record.accountabilityProfileId);
  });

  it('shows the person\'s verification on every persona, whatever the persona (edge case 5)', () => {
    const rotated = { ...record, id: 'a8e2f1c4-1111-4c3b-9d55-8f7b8b0c1a11', origin: 'rotated' as const };
    expect(toPublicPersona(record, true).verified).toBe(true);
    expect(toPublicPersona(rotated, true).verified).toBe(true);
    expect(toPublicPersona(rotated, false).verified).toBe(false);
  });

  it('tells a deactivated persona\'s owner until when it can be restored', () => {
    const purgeAfter = new Date('2025-04-01T00:00:00Z');
    const deactivated = { ...record, isActive: false, deactivatedAt: new Date('2025-01-01T00:00:00Z'), purgeAfter };
    expect(toPublicPersona(deactivated, false)).toMatchObject({ active: false, restorableUntil: purgeAfter.toISOString() });
    expect(toPublicPersona(record, false)).toMatchObject({ active: true, restorableUntil: null });
  });
});

describe('personaState', () => {
  it('is live, deactivated (restorable) or retired (rotated away or deleted)', () => {
    expect(personaState({ isActive: true, deletedAt: null })).toBe('live');
    expect(personaState({ isActive: false, deletedAt: null })).toBe('deactivated');
    expect(personaState({ isActive: false, deletedAt: new Date() })).toBe('retired');
  });
});

describe('avatarUrlProblem', () => {
  it('accepts https URLs only, without credentials, up to 500 characters', () => {
    expect(avatarUrlProblem('https://cdn.example.org/a.png')).toBeNull();
    expect(avatarUrlProblem('http://cdn.example.org/a.png')).toMatch(/https/);
    expect(avatarUrlProblem('javascript:alert(1)')).not.toBeNull();
    expect(avatarUrlProblem('https://user:secret@cdn.example.org/a.png')).toMatch(/password/);
    expect(avatarUrlProblem(`https://cdn.example.org/${'a'.repeat(500)}`)).toMatch(/500/);
  });
});

describe('display names', () => {
  it('folds letters of other scripts that imitate Latin ones, so look-alikes are one name', () => {
    expect(displayNameKey('аlice')).toBe('alice'); // Cyrillic а
    expect(displayNameKey('ΑLICE')).toBe('alice'); // Greek capital alpha
    expect(displayNameKey('Рауpal')).toBe('paypal'); // Cyrillic Р, а, у
    expect(displayNameKey('ёlka')).toBe(displayNameKey('ëlka')); // Cyrillic ё meets Latin ë
  });

  it('drops invisible characters from the key', () => {
    expect(displayNameKey('Al\u200bice')).toBe('alice');
    expect(displayNameKey('Alice\u00ad')).toBe('alice');
  });

  it('keeps a folded key stable (idempotent)', () => {
    for (const name of ['Рауpal', 'ёlka', 'е\u0301cole', 'ΗΕΛΛΟ']) {
      expect(displayNameKey(displayNameKey(name))).toBe(displayNameKey(name));
    }
  });

  it('refuses empty, too long, and control or formatting characters', () => {
    expect(displayNameProblem(normalizeDisplayName('   '))).toMatch(/empty/);
    expect(displayNameProblem('\u200b')).not.toBeNull();
    expect(displayNameProblem('a'.repeat(65))).toMatch(/64/);
    expect(displayNameProblem('evil\u202eeman')).toMatch(/control|formatting/);
    expect(displayNameProblem('tab\there')).toMatch(/control|formatting/);
    expect(displayNameProblem('Quiet Otter')).toBeNull();
    expect(displayNameProblem('👩\u200d💻 Coder')).toBeNull(); // an emoji sequence needs its joiner
    expect(displayNameProblem('😀'.repeat(64))).toBeNull(); // 64 characters, 128 UTF-16 units
  });

  it('stores names trimmed, with inner white space collapsed, in NFC', () => {
    expect(normalizeDisplayName('  Quiet \t Otter ')).toBe('Quiet Otter');
    expect(normalizeDisplayName('Rene\u0301e')).toBe('Ren\u00e9e');
  });
});

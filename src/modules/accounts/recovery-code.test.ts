import { describe, expect, it } from 'vitest';
import { TokenHasher } from '../../crypto/tokens.js';
import { newRecoveryCodes, normalizeRecoveryCode, RECOVERY_CODE_COUNT, recoveryCodeHash } from './recovery-code.js';

describe('recovery codes', () => {
  it('are ten distinct xxxx-xxxx-xxxx codes with no look-alike letters', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT);
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/);
  });

  it('read back whatever the case, spacing and dashes, with I, L and O as the digits they look like', () => {
    expect(normalizeRecoveryCode(' AB1C 0DEF-GH2J ')).toBe('ab1c-0def-gh2j');
    expect(normalizeRecoveryCode('abIc-oDef-gh2j')).toBe('ab1c-0def-gh2j');
    expect(normalizeRecoveryCode('ab1c0defgh2j')).toBe('ab1c-0def-gh2j');
    for (const bad of ['', 'ab1c-0def', 'ab1c-0def-gh2j-x', 'ab1c-0def-gh2u', 'ab1c_0def_gh2j']) expect(normalizeRecoveryCode(bad), bad).toBeNull();
  });

  it('are stored as keyed hashes bound to their account', () => {
    const hasher = new TokenHasher('k'.repeat(32));
    const [code] = newRecoveryCodes(1) as [string];
    const a = recoveryCodeHash(hasher, 'account-a', code);
    expect(a).toHaveLength(32);
    expect(a.equals(recoveryCodeHash(hasher, 'account-b', code))).toBe(false);
    expect(a.equals(recoveryCodeHash(new TokenHasher('j'.repeat(32)), 'account-a', code))).toBe(false);
    expect(a.toString('hex')).not.toContain(Buffer.from(code).toString('hex'));
  });
});

import { describe, expect, it } from 'vitest';
import { maskIdentifier } from './account-identifier.js';

describe('maskIdentifier', () => {
  it('keeps each kind recognisable but never whole', () => {
    expect(maskIdentifier('email', 'alice@example.com', null)).toBe('a•••e@example.com');
    expect(maskIdentifier('email', 'al@example.com', null)).toBe('a•••@example.com');
    expect(maskIdentifier('wallet', '0x8ba1f109551bd432803012645ac136ddd64dba72', null)).toBe('0x8b…ba72');
    expect(maskIdentifier('social', 'https://accounts.example.com 1234567890', 'example')).toBe('example …7890');
    expect(maskIdentifier('passkey', 'AbCdEfGhIjKl', null)).toBe('passkey …IjKl');
    expect(maskIdentifier('key', 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', null)).toBe('did:key:…ta2doK');
  });
});

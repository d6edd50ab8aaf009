import { describe, expect, it } from 'vitest';
import { roleAllows } from './admin.js';

describe('roleAllows', () => {
  it('lets an admin do everything and a moderator only moderator work', () => {
    expect(roleAllows('admin', 'admin')).toBe(true);
    expect(roleAllows('admin', 'moderator')).toBe(true);
    expect(roleAllows('moderator', 'moderator')).toBe(true);
    expect(roleAllows('moderator', 'admin')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { isSameOriginPath } from './return-to.js';

describe('isSameOriginPath', () => {
  it('accepts paths on this origin, with a query and a fragment', () => {
    for (const path of ['/', '/board', '/board/42?tab=votes#top', '/a//b', '/%2F%2Fevil.example']) {
      expect(isSameOriginPath(path), path).toBe(true);
    }
  });

  it('refuses absolute and protocol-relative URLs, backslash tricks and control characters', () => {
    for (const value of [
      '',
      'board',
      'https://evil.example/',
      '//evil.example',
      '///evil.example',
      '/\\evil.example',
      '/\\/evil.example',
      '/board\\..',
      '/ /evil',
      '/\tevil',
      '/\nLocation: https://evil.example',
      'javascript:alert(1)',
    ]) {
      expect(isSameOriginPath(value), JSON.stringify(value)).toBe(false);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { keySignInMessage } from './key-message.js';

describe('keySignInMessage', () => {
  it('names the purpose, the domain and the challenge, one per line, in this exact form', () => {
    expect(keySignInMessage('id.example:8443', 'q1w2e3r4t5y6u7i8o9p0aa')).toBe(
      'personae sign-in\ndomain: id.example:8443\nchallenge: q1w2e3r4t5y6u7i8o9p0aa',
    );
  });

  it('differs by domain, so a signature made for one service does not verify for another', () => {
    expect(keySignInMessage('a.example', 'c')).not.toBe(keySignInMessage('b.example', 'c'));
  });
});

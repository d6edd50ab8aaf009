import { describe, expect, it } from 'vitest';
import { isTransactionConflict } from './transaction-conflict.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isTransactionConflict', () => {
  it('recognizes a deadlock and a serialization failure, also as a cause', () => {
    expect(isTransactionConflict(withCode('deadlock detected', '40P01'))).toBe(true);
    expect(isTransactionConflict(withCode('could not serialize access due to concurrent update', '40001'))).toBe(true);
    expect(isTransactionConflict(new Error('commit failed', { cause: withCode('deadlock detected', '40P01') }))).toBe(true);
  });

  it('leaves other failures alone', () => {
    expect(isTransactionConflict(withCode('duplicate key value violates unique constraint', '23505'))).toBe(false);
    expect(isTransactionConflict(withCode('lock timeout', '55P03'))).toBe(false);
    expect(isTransactionConflict(new Error('40P01'))).toBe(false);
    expect(isTransactionConflict({ code: '40P01' })).toBe(false);
  });
});

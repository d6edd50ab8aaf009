import { describe, expect, it } from 'vitest';
import { isBackendUnavailable } from './backend-unavailable.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isBackendUnavailable', () => {
  it('recognizes lost and refused connections to PostgreSQL and Redis', () => {
    expect(isBackendUnavailable(withCode('terminating connection due to administrator command', '57P01'))).toBe(true);
    expect(isBackendUnavailable(withCode('the database system is starting up', '57P03'))).toBe(true);
    expect(isBackendUnavailable(withCode('connection failure', '08006'))).toBe(true);
    expect(isBackendUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isBackendUnavailable(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    expect(isBackendUnavailable(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe(true);
    expect(isBackendUnavailable(new AggregateError([withCode('refused', 'ECONNREFUSED')], ''))).toBe(true);
    expect(isBackendUnavailable(new Error('Connection is closed.'))).toBe(true);
  });

  it('looks through a wrapping error\'s cause', () => {
    expect(isBackendUnavailable(new Error('sink failed', { cause: new Error('Connection terminated unexpectedly') }))).toBe(true);
  });

  it('leaves rules and bugs alone: constraint violations, failing triggers, plain errors', () => {
    expect(isBackendUnavailable(withCode('duplicate key value violates unique constraint', '23505'))).toBe(false);
    expect(isBackendUnavailable(withCode('sabotaged', 'P0001'))).toBe(false);
    expect(isBackendUnavailable(withCode('canceling statement due to user request', '57014'))).toBe(false);
    expect(isBackendUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isBackendUnavailable('Connection terminated unexpectedly')).toBe(false);
    expect(isBackendUnavailable(undefined)).toBe(false);
  });
});

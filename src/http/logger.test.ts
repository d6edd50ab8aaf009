import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

describe('createLogger', () => {
  it('blanks sensitive keys at the top level and one level down, keeping the rest', () => {
    const { logger, lines } = capture();
    logger.info(
      { token: 'tok-secret', route: '/session', request: { email: 'alice@example.org', cookie: 'anon_id=x', method: 'GET' } },
      'hello',
    );
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line).toMatchObject({ token: '[redacted]', route: '/session', request: { email: '[redacted]', cookie: '[redacted]', method: 'GET' } });
    expect(lines[0]).not.toContain('tok-secret');
    expect(lines[0]).not.toContain('alice@example.org');
  });

  it('logs errors without driver details such as a PostgreSQL error detail', () => {
    const { logger, lines } = capture();
    const error = Object.assign(new Error('duplicate key value violates unique constraint "x"'), {
      code: '23505',
      detail: 'Key (email)=(alice@example.org) already exists.',
    });
    logger.error({ err: error }, 'failed');
    expect(JSON.parse(lines[0] ?? '{}').err).toMatchObject({ code: '23505', message: expect.stringContaining('duplicate key') });
    expect(lines[0]).not.toContain('alice@example.org');
  });

  it('leaves a line without sensitive keys as it is', () => {
    const { logger, lines } = capture();
    logger.info({ correlationId: 'c-1', statusCode: 200 }, 'request completed');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ correlationId: 'c-1', statusCode: 200, msg: 'request completed' });
  });
});

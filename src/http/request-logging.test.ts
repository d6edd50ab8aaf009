import type { FastifyReply, FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { RequestLogging, type AccessLogOptions } from './request-logging.js';

/** Runs one completed request through the controller and answers the lines it wrote. */
function linesFor(options: AccessLogOptions, outcome: { statusCode: number; elapsedTime: number; error?: Error; level?: string }) {
  const lines: Array<{ level: string; line: Record<string, unknown>; msg: string }> = [];
  const log = {
    level: outcome.level ?? 'info',
    info: (line: Record<string, unknown>, msg: string) => lines.push({ level: 'info', line, msg }),
    error: (line: Record<string, unknown>, msg: string) => lines.push({ level: 'error', line, msg }),
  };
  const request = { method: 'GET', is404: false, routeOptions: { url: '/session' } } as unknown as FastifyRequest;
  const reply = { statusCode: outcome.statusCode, elapsedTime: outcome.elapsedTime, log } as unknown as FastifyReply;
  new RequestLogging(options).requestCompleted(outcome.error ?? null, request, reply);
  return lines;
}

describe('the access log', () => {
  const slow: AccessLogOptions = { mode: 'slow', slowMs: 250 };

  it('in slow mode writes only requests at or over the threshold, and every 5xx', () => {
    expect(linesFor(slow, { statusCode: 200, elapsedTime: 3 })).toEqual([]);
    expect(linesFor(slow, { statusCode: 429, elapsedTime: 1 })).toEqual([]);
    expect(linesFor(slow, { statusCode: 200, elapsedTime: 250 })).toEqual([
      { level: 'info', msg: 'request completed', line: { method: 'GET', route: '/session', statusCode: 200, ms: 250 } },
    ]);
    expect(linesFor(slow, { statusCode: 503, elapsedTime: 2 })).toMatchObject([{ level: 'info', line: { statusCode: 503 } }]);
  });

  it('writes every request in all mode, none in off mode, and an error in every mode', () => {
    expect(linesFor({ mode: 'all', slowMs: 250 }, { statusCode: 200, elapsedTime: 1 })).toHaveLength(1);
    expect(linesFor({ mode: 'off', slowMs: 250 }, { statusCode: 500, elapsedTime: 900 })).toEqual([]);
    for (const mode of ['all', 'slow', 'off'] as const) {
      expect(linesFor({ mode, slowMs: 250 }, { statusCode: 500, elapsedTime: 1, error: new Error('boom') })).toMatchObject([
        { level: 'error', msg: 'request failed' },
      ]);
    }
  });

  it('builds nothing when the level would drop the line', () => {
    expect(linesFor({ mode: 'all', slowMs: 250 }, { statusCode: 200, elapsedTime: 1, level: 'warn' })).toEqual([]);
  });
});

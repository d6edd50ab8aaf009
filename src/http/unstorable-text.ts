import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

const NUL_MESSAGE = 'Text must not contain the NUL character (U+0000).';
const SURROGATE_MESSAGE = 'Text must be well-formed Unicode (no lone surrogate halves).';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with a string for storage, or null. */
function problemOf(text: string): string | null {
  if (text.includes('\u0000')) return NUL_MESSAGE;
  if (LONE_SURROGATE.test(text)) return SURROGATE_MESSAGE;
  return null;
}

/** The first problem in any string of a parsed JSON value, key or value, at any depth. */
function problemIn(value: unknown): string | null {
  if (typeof value === 'string') return problemOf(value);
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = problemIn(item);
      if (problem) return problem;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const problem = problemOf(key) ?? problemIn(item);
      if (problem) return problem;
    }
  }
  return null;
}

/** JSON can write U+0000 and a surrogate half only as escapes (`\u0000`, `\ud800`–`\udfff`). */
const SUSPECT_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * Refuses text PostgreSQL cannot store (400 VALIDATION_FAILED): U+0000, which `text` cannot hold, and
 * lone surrogate halves, which `jsonb` refuses (an audit row or an event payload carrying the text).
 * Before, either reached a query and answered 500 (the OpenAPI fuzz found them: app, token and territory
 * names, ban and flag reasons, appeal statements, webhook URLs, sign-in handles). No field of this API
 * has a use for them. Checked where it is cheap: in the JSON parser, only when the body spells one of
 * those escapes (JSON has no other way to write them), and in the URL, only when it holds `%00` (a
 * percent-encoded surrogate half is not UTF-8: the router refuses it already).
 */
export function refuseUnstorableText(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, raw, done) => {
    const body = String(raw); // parseAs 'string': always a string already
    parseJson(request, body, (error: Error | null, value?: unknown) => {
      if (error) return done(error, undefined);
      const problem = SUSPECT_ESCAPE.test(body) ? problemIn(value) : null;
      if (problem) return done(new AppError('VALIDATION_FAILED', problem), undefined);
      done(null, value);
    });
  });
  app.addHook('onRequest', (request, _reply, done) => {
    done(request.url.includes('%00') ? new AppError('VALIDATION_FAILED', NUL_MESSAGE) : undefined);
  });
}

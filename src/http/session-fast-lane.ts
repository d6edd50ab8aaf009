import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { SessionService } from '../modules/sessions/session-service.js';
import { sessionAnswer, type SessionContext } from '../modules/sessions/session.js';
import { ANON_COOKIE, hasTwoAnonCookies, parseAnonCookie, refreshIsDue, type Unsign } from './anon-cookie.js';
import { correlationIdOf } from './correlation.js';
import type { RequestLogging } from './request-logging.js';
import { SESSION_COOKIE } from './session-cookie.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** What the lane needs from the app, given once the app has built it. */
interface FastLaneParts {
  readonly parseCookie: (header: string) => Record<string, string | undefined>;
  readonly unsign: Unsign;
  /** The node-local session cache only: a miss is Fastify's to answer (and to fill the cache). */
  readonly cachedGuest: (token: string) => SessionContext | undefined;
  readonly nowSeconds: () => number;
  /** Records the request as the access log and the request metrics record every other one. */
  readonly completed: (correlationId: string, statusCode: number, elapsedMs: number) => void;
  /** @fastify/cors is on (ALLOWED_ORIGINS), and marks every answer as varying by Origin. */
  readonly varyByOrigin: boolean;
}

/**
 * `GET /session` of a returning guest whose session this node has cached, answered straight from
 * Node's HTTP server, before Fastify: the most frequent request of the service (every page load asks
 * it) then skips the router, the request and reply objects, the hook chain and the per-request child
 * logger: about a quarter of what even a bare Fastify route costs (docs/performance.md).
 *
 * The lane takes only the plainest form of the request, and gives everything else to Fastify
 * untouched: another method or URL (a query string, HEAD), an `Origin` or `Authorization` header,
 * a signed-in session cookie, a missing, invalid, doubled or due-for-refresh `anon_id` cookie, a
 * cache miss, or a server that is closing. What it answers is what the route answers
 * (test/integration/session-fast-lane.test.ts compares the two, header by header), and revocation
 * holds the same way: the cache it reads is the one revocation evicts. It reports to the same access
 * log and request metrics, and counts its answers (`personae_session_fast_lane_answers_total`).
 */
class SessionFastLane {
  #closing = false;

  constructor(private readonly parts: FastLaneParts) {}

  /** From Fastify's `preClose`: while closing, Fastify answers (503 for new requests, as it does). */
  close(): void {
    this.#closing = true;
  }

  /** True when the lane answered; false (nothing written) when Fastify must. */
  answer(request: IncomingMessage, response: ServerResponse): boolean {
    if (this.#closing || request.method !== 'GET' || request.url !== '/session') return false;
    const start = performance.now();
    const { parts } = this;
    const { headers } = request;
    const cookieHeader = headers.cookie;
    if (cookieHeader === undefined || headers.origin !== undefined || headers.authorization !== undefined) return false;
    if (hasTwoAnonCookies(cookieHeader)) return false;
    const cookies = parts.parseCookie(cookieHeader);
    if (cookies[SESSION_COOKIE] !== undefined) return false;
    const anon = parseAnonCookie(cookies[ANON_COOKIE], parts.unsign);
    if (anon === null || refreshIsDue(anon, parts.nowSeconds())) return false;
    const context = parts.cachedGuest(anon.token);
    if (context === undefined) return false;

    const correlationId = correlationIdOf(request);
    const body = JSON.stringify(sessionAnswer(context, correlationId));
    // One literal, no spread (see sessionAnswer): the headers every answer of the route carries.
    response.writeHead(
      200,
      parts.varyByOrigin
        ? { 'x-correlation-id': correlationId, 'cache-control': 'no-store', vary: 'Origin', 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) }
        : { 'x-correlation-id': correlationId, 'cache-control': 'no-store', 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) },
    );
    response.end(body);
    parts.completed(correlationId, 200, performance.now() - start);
    return true;
  }
}

interface FastLaneDeps {
  readonly sessions: SessionService;
  readonly clock: Clock;
  readonly logging: RequestLogging;
  readonly registry: Registry;
  /** ALLOWED_ORIGINS is set, so @fastify/cors is registered. */
  readonly corsEnabled: boolean;
}

/**
 * Puts the lane in front of Fastify's handler on the HTTP server Fastify made, whose timeouts and
 * connection handling stay Fastify's: Node's server hands each request to its `request` listener,
 * Fastify's, which the lane now calls whenever it does not answer. Call after the cookie plugin is
 * registered (the lane parses and verifies cookies with it).
 */
export function installSessionFastLane(app: FastifyInstance, { sessions, clock, logging, registry, corsEnabled }: FastLaneDeps): void {
  const answers = new Counter({
    name: 'personae_session_fast_lane_answers_total',
    help: 'GET /session answers given from the session cache before Fastify (returning guests).',
    registers: [registry],
  });
  const lane = new SessionFastLane({
    parseCookie: (header) => app.parseCookie(header),
    unsign: (value) => app.unsignCookie(value),
    cachedGuest: (token) => sessions.cachedGuest(token),
    nowSeconds: () => Math.floor(clock.now().getTime() / 1000),
    completed: (correlationId, statusCode, elapsedMs) => {
      answers.inc();
      logging.answeredBeforeFastify(app.log, correlationId, 'GET', '/session', statusCode, elapsedMs);
    },
    varyByOrigin: corsEnabled,
  });
  app.addHook('preClose', (done) => {
    lane.close();
    done();
  });
  const [fastify, ...others] = app.server.listeners('request') as RequestListener[];
  if (!fastify || others.length > 0) throw new Error('the GET /session fast lane expects Fastify as the one request listener');
  app.server.removeListener('request', fastify);
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    let answered = false;
    try {
      answered = lane.answer(request, response);
    } catch (error) {
      // A throw here would reach no error handler (it is not Fastify's code): Fastify answers instead.
      app.log.error({ err: error }, 'the GET /session fast lane failed; Fastify answers the request');
      if (response.headersSent) return void response.destroy();
    }
    if (!answered) fastify(request, response);
  });
}

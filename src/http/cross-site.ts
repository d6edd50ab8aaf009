import type { FastifyInstance } from 'fastify';
import { sendError } from './error-handler.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses state-changing requests that a browser sends on another site's behalf (CSRF). Fetch
 * Metadata (`Sec-Fetch-Site`) is decisive where the browser sends it; otherwise `Origin` must be
 * this service's own origin or one the operator allowed. Requests with neither header (servers,
 * curl) carry no ambient browser credentials to abuse, so they pass.
 */
export function registerCrossSiteProtection(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  const allowed = new Set(allowedOrigins);
  app.addHook('onRequest', (request, reply, done) => {
    if (SAFE_METHODS.has(request.method)) return done();
    const site = request.headers['sec-fetch-site'];
    if (site === 'same-origin' || site === 'none') return done(); // the browser vouches (a proxy may rewrite Host)
    const origin = request.headers.origin;
    const crossSite =
      site === 'cross-site' || (origin !== undefined && !allowed.has(origin) && !sameOrigin(origin, request.host));
    if (!crossSite) return done();
    sendError(request, reply, 'CROSS_SITE', 'State-changing requests from other sites are refused.');
  });
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // includes the opaque origin "null"
  }
}

import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { sendError } from './error-handler.js';
import { attachToRoutes, changesState, SAFE_METHODS } from './route-hooks.js';

/**
 * Refuses state-changing requests that a browser sends on another site's behalf (CSRF). An origin
 * the operator allowed (`ALLOWED_ORIGINS`, say the community's own front end on a sibling subdomain)
 * passes, with CORS answered for it and credentials allowed. Otherwise Fetch Metadata
 * (`Sec-Fetch-Site`) decides where the browser sends it, and `Origin` must be this service's own.
 * Requests with neither header (servers, curl) carry no ambient browser credentials, so they pass.
 * The check is attached to the routes that can change state, as they are declared (call this before
 * any route): reads run no hook for it, and a request no route matches changes nothing either.
 */
export async function registerCrossSiteProtection(app: FastifyInstance, allowedOrigins: readonly string[]): Promise<void> {
  const allowed = new Set(allowedOrigins);
  if (allowed.size > 0) {
    await app.register(fastifyCors, {
      origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
      credentials: true,
      methods: ['GET', 'POST', 'DELETE'],
      maxAge: 600,
    });
  }
  attachToRoutes(app, 'onRequest', changesState, (request, reply, done) => {
    if (SAFE_METHODS.has(request.method)) return done();
    const origin = request.headers.origin;
    if (origin !== undefined && allowed.has(origin)) return done();
    const site = request.headers['sec-fetch-site'];
    if (site === 'same-origin' || site === 'none') return done(); // the browser vouches (a proxy may rewrite Host)
    const crossSite = site === 'cross-site' || site === 'same-site' || (origin !== undefined && !sameOrigin(origin, request.host));
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

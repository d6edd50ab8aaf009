import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/** Where `npm run build:web` writes the app: web/dist, two levels up from both src/http and dist/http. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/**
 * The paths the web app's router serves (web/src/app.tsx): each answers index.html. They are listed,
 * not caught by a wildcard, so an unknown path still gets the API's JSON 404, and none shadows an
 * API GET route (/session, /personas, /invitations… are the API's).
 */
export const WEB_APP_PATHS = ['/', '/sign-in', '/sign-up', '/recover', '/me/*', '/invite', '/api/v2/auth/social/callback', '/staff', '/staff/*'] as const;

/**
 * Scripts, styles and connections from this origin only: no inline script, no eval, no third party.
 * `img-src data:` is for invitation QR codes, which the API answers as data URLs. The page may not be
 * framed (clickjacking of consent and sign-in buttons).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the built web app from the service itself (no CDN, one origin, first-party cookies).
 * Without a build (API-only deployments, unit tests) nothing is registered and the API runs as before.
 */
export const webAppRoutes: FastifyPluginAsync<{ root?: string }> = async (app, options) => {
  const root = options.root ?? DEFAULT_WEB_ROOT;
  const indexFile = join(root, 'index.html');
  if (!existsSync(indexFile)) {
    app.log.info({ root }, 'web app not built (npm run build:web): serving the API only');
    return;
  }
  // Read once: the page is tiny, and a deploy replaces the process along with the build.
  const indexHtml = readFileSync(indexFile);
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    done(null, payload);
  });
  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/assets/',
    index: false,
    // File names carry a content hash: a changed file is a new name, so caches may keep them for good.
    setHeaders: (reply) => reply.header('cache-control', 'public, max-age=31536000, immutable'),
  });
  for (const path of WEB_APP_PATHS) {
    app.get(path, { schema: { hide: true } }, (_request, reply) => {
      reply.type('text/html; charset=utf-8').send(indexHtml);
    });
  }
};

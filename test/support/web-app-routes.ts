import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_WEB_ROOT, WEB_APP_PATHS } from '../../src/http/web-app.js';

/**
 * The web app's routes for a walk over every route (test/integration/privacy.test.ts): one request
 * per path the app serves, plus one built asset. Empty when the app is not built, since then the
 * service registers none of them (npm test builds it first).
 */
export function webAppWalk<T>(get: (url: string) => Promise<T>): Record<string, () => Promise<T>> {
  if (!existsSync(join(DEFAULT_WEB_ROOT, 'index.html'))) return {};
  const asset = readdirSync(join(DEFAULT_WEB_ROOT, 'assets')).find((name) => name.endsWith('.js'));
  return {
    ...Object.fromEntries(WEB_APP_PATHS.map((path) => [`GET ${path}`, () => get(path.replace('*', 'example'))])),
    'GET /assets/*': () => get(`/assets/${asset}`),
  };
}

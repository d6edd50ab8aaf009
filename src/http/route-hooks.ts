import type { FastifyInstance, onRequestHookHandler, onResponseHookHandler, preHandlerHookHandler, RouteOptions } from 'fastify';

/** The methods that change nothing (RFC 9110 §9.2.1): no CSRF check, no ban check, no outbox to wake. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when the route answers at least one method that may change state. */
export function changesState(route: Pick<RouteOptions, 'method'>): boolean {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  return methods.some((method) => !SAFE_METHODS.has(method.toUpperCase()));
}

interface RouteHooks {
  onRequest: onRequestHookHandler;
  preHandler: preHandlerHookHandler;
  onResponse: onResponseHookHandler;
}

/**
 * Attaches `hook` to each route declared from here on (in this plugin and its children) that
 * `applies` to, as the route is declared. A global hook runs on every request, the hot read
 * (`GET /session`) included, even when its first line returns at once; Fastify runs a route's hooks
 * only for that route. (A route declared before this call, or in a sibling plugin, gets nothing.)
 */
export function attachToRoutes<Name extends keyof RouteHooks>(
  app: FastifyInstance,
  name: Name,
  applies: (route: RouteOptions) => boolean,
  hook: RouteHooks[Name],
): void {
  app.addHook('onRoute', (route) => {
    if (!applies(route)) return;
    const existing = route[name];
    route[name] = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), hook] as RouteOptions[Name];
  });
}

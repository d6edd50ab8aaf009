import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly guestsStarted: Counter;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'personae_' });
  return {
    registry,
    guestsStarted: new Counter({
      name: 'personae_guests_started_total',
      help: 'Guest identities started.',
      registers: [registry],
    }),
  };
}

/** Records one completed request: method, route pattern (or `unmatched`), status and duration in ms. */
export type RequestObserver = (method: string, route: string, statusCode: number, elapsedMs: number) => void;

/**
 * Request durations by route pattern (never the raw URL: ids would explode the label set). Called
 * from the request-completion callback Fastify makes for every request anyway (RequestLogging), so
 * the hot path runs no onResponse hook for it.
 */
export function requestDurationObserver(metrics: Metrics): RequestObserver {
  const duration = new Histogram({
    name: 'personae_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metrics.registry],
  });
  // One child per (method, route, status), looked up once: the label set is small and fixed.
  const children = new Map<string, { observe(value: number): void }>();
  return (method, route, statusCode, elapsedMs) => {
    const key = `${method} ${route} ${statusCode}`;
    let child = children.get(key);
    if (!child) {
      child = duration.labels(method, route, String(statusCode));
      children.set(key, child);
    }
    child.observe(elapsedMs / 1000);
  };
}

/**
 * The one way the web app talks to the service. Same origin, so the browser sends the HttpOnly
 * `anon_id` and `__Host-session` cookies itself: the app never sees a token and stores none.
 * State-changing requests carry the browser's own `Origin` and `Sec-Fetch-Site: same-origin`, which
 * is what the service's cross-site check (src/http/cross-site.ts) accepts; nothing else is needed.
 */

/** An error the service answered: its stable code, a message for people, and the id to quote to support. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly correlationId: string | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface RequestOptions {
  /** Extra headers (the staff console sends its admin token this way, from memory only). */
  readonly headers?: Record<string, string>;
}

export async function request<T>(method: Method, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR', 'The service could not be reached. Check your connection and try again.', null);
  }
  const text = await response.text();
  const data: unknown = text === '' ? {} : safeJson(text);
  if (!response.ok) throw errorOf(response, data);
  return data as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function errorOf(response: Response, data: unknown): ApiError {
  const body = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const code = typeof body.code === 'string' ? body.code : 'HTTP_' + response.status;
  const message = typeof body.message === 'string' ? body.message : `The service answered ${response.status}.`;
  const correlationId = typeof body.correlationId === 'string' ? body.correlationId : response.headers.get('x-correlation-id');
  return new ApiError(response.status, code, message, correlationId);
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body: unknown = {}, options?: RequestOptions) => request<T>('POST', path, body, options),
  put: <T>(path: string, body: unknown = {}, options?: RequestOptions) => request<T>('PUT', path, body, options),
  delete: <T>(path: string, options?: RequestOptions) => request<T>('DELETE', path, undefined, options),
  patch: <T>(path: string, body: unknown = {}, options?: RequestOptions) => request<T>('PATCH', path, body, options),
};

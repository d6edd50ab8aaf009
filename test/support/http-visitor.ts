/**
 * A browser over real HTTP (fetch), for tests against service processes: it keeps the two cookies
 * the service sets (`anon_id` and the signed-in session), and may send them to any node, as a
 * browser behind a load balancer does.
 */
const COOKIES = ['anon_id', '__Host-session'] as const;

export interface HttpAnswer {
  readonly status: number;
  /** The parsed JSON body, or undefined when the body was not JSON. */
  readonly body: Record<string, unknown> | undefined;
  readonly text: string;
  readonly correlationHeader: string | null;
}

export class HttpVisitor {
  readonly cookies = new Map<string, string>();

  async request(base: string, method: string, path: string, payload?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(base + path, {
      method,
      headers: {
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...(cookie ? { cookie } : {}),
        ...headers,
      },
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
      signal: AbortSignal.timeout(20_000),
    });
    for (const line of response.headers.getSetCookie()) this.#remember(line);
    const text = await response.text();
    return { status: response.status, body: parseJson(text), text, correlationHeader: response.headers.get('x-correlation-id') };
  }

  /** Only the name=value pair matters here; an empty value or Max-Age=0 is the server clearing it. */
  #remember(setCookie: string): void {
    const pair = setCookie.split(';', 1)[0] ?? '';
    const at = pair.indexOf('=');
    const name = pair.slice(0, at);
    if (!(COOKIES as readonly string[]).includes(name)) return;
    const value = pair.slice(at + 1);
    if (value === '' || /;\s*max-age=0(;|$)/i.test(setCookie)) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An error answer as the service promises it: a stable code, a message, and the request's correlation id. */
export function isTypedError(answer: HttpAnswer): boolean {
  const body = answer.body;
  return (
    answer.status >= 400 &&
    typeof body?.code === 'string' &&
    /^[A-Z][A-Z_]+$/.test(body.code) &&
    typeof body.message === 'string' &&
    body.message.length > 0 &&
    typeof body.correlationId === 'string' &&
    body.correlationId === answer.correlationHeader
  );
}

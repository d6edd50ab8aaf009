/**
 * Whether `value` is a path on this origin, safe to send a browser back to after the sign-in.
 * `//evil.example` and `/\evil.example` are not: browsers read both as another host
 * (a protocol-relative URL; WHATWG URL parsing turns `\` into `/`), the classic open redirect.
 */
export function isSameOriginPath(value: string): boolean {
  if (!value.startsWith('/') || value.startsWith('//')) return false;
  // Backslashes, spaces and control characters have no business in a return path.
  if (/[\\\s\u0000-\u001f\u007f]/.test(value)) return false;
  const base = 'https://origin.invalid';
  return new URL(value, base).origin === base;
}

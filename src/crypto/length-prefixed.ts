/**
 * Encodes fields as (4-byte big-endian length, UTF-8 bytes) pairs, so that no two different field
 * lists can produce the same input to a MAC (`("ab","c")` and `("a","bc")` differ).
 */
export function lengthPrefixed(fields: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const field of fields) {
    const bytes = Buffer.from(field, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  }
  return Buffer.concat(parts);
}

import type { Invalidation } from './invalidation-bus.js';

/** An invalidation as a bus carries it between nodes: the message, and whom to confirm it to. */
export interface InvalidationMessage {
  readonly invalidation: Invalidation;
  /** The sending node and its sequence number, to confirm to; absent from nodes of earlier versions. */
  readonly from: string | undefined;
  readonly seq: string | undefined;
}

/** A node id: a UUID, with or without its hyphens (it names a confirmation channel). */
const NODE_ID = /^[0-9a-f-]{32,36}$/;

/** The message in `text` (JSON: the invalidation's fields, `from`, `seq`), or null when it is not one. */
export function parseInvalidation(text: string): InvalidationMessage | null {
  try {
    const value = JSON.parse(text) as Partial<{ kind: string; id: string; from: unknown; seq: unknown }>;
    const invalidation = toInvalidation(value);
    if (!invalidation) return null;
    const from = typeof value.from === 'string' && NODE_ID.test(value.from) ? value.from : undefined;
    return { invalidation, from, seq: typeof value.seq === 'string' ? value.seq : undefined };
  } catch {
    return null; // not ours: ignore
  }
}

function toInvalidation(value: Partial<{ kind: string; id: string }>): Invalidation | null {
  if (value.kind === 'all') return { kind: 'all' };
  if (value.kind === 'identities') return { kind: 'identities' };
  if (value.kind === 'profile' && typeof value.id === 'string') return { kind: 'profile', id: value.id };
  return null;
}

/**
 * A message that cached state is stale: one person's sessions (`profile`), the public identities
 * (`identities`: the local identity generation's bump, see LocalIdentityGeneration; with Redis
 * the generation is a Redis key instead), or everything (`all`, after a node may have missed messages).
 */
export type Invalidation =
  | { readonly kind: 'profile'; readonly id: string }
  | { readonly kind: 'identities' }
  | { readonly kind: 'all' };

/** Carries invalidations to every node of the service, this one included. */
export interface InvalidationBus {
  /**
   * True when `publish` returns only once every other listening node of the deployment confirmed
   * the message (Redis, PostgreSQL LISTEN/NOTIFY), so a change answered after it is seen on every
   * node's next request. False for the in-memory bus: it reaches only this process.
   */
  readonly confirmsAcrossNodes: boolean;
  /**
   * Delivers here at once, then to the other nodes. Answers whether every other listening node
   * confirmed it; failures are reported, never thrown (the change is committed already).
   */
  publish(invalidation: Invalidation): Promise<boolean>;
  subscribe(listener: (invalidation: Invalidation) => void): void;
  /**
   * True while this node is sure to hear every other node's invalidations. While false (Redis, or
   * the PostgreSQL bus's listening connection, is lost), a cache of shared state must be neither
   * read nor filled: it could not learn of a ban placed elsewhere.
   */
  isListening(): boolean;
  close(): Promise<void>;
}

/** The options of a bus whose every node confirms each message (Redis, PostgreSQL). */
export interface ConfirmingBusOptions {
  /** Told of a publish that failed or that some node did not confirm in time. */
  readonly onError?: (error: unknown) => void;
  /** How long a publish waits for every node's confirmation (2 s by default). */
  readonly ackTimeoutMs?: number;
}

/** The embedded default: one process, so delivery is a direct call. */
export function createMemoryInvalidationBus(): InvalidationBus {
  const listeners: Array<(invalidation: Invalidation) => void> = [];
  return {
    confirmsAcrossNodes: false,
    async publish(invalidation) {
      for (const listener of listeners) listener(invalidation);
      return true;
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    isListening: () => true,
    async close() {
      listeners.length = 0;
    },
  };
}

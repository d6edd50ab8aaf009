/** A message that cached state about one person is stale; `all` after a node may have missed messages. */
export type Invalidation = { readonly kind: 'profile'; readonly id: string } | { readonly kind: 'all' };

/** Carries invalidations to every node of the service, this one included. */
export interface InvalidationBus {
  publish(invalidation: Invalidation): Promise<void>;
  subscribe(listener: (invalidation: Invalidation) => void): void;
  close(): Promise<void>;
}

/** The embedded default: one process, so delivery is a direct call. */
export function createMemoryInvalidationBus(): InvalidationBus {
  const listeners: Array<(invalidation: Invalidation) => void> = [];
  return {
    async publish(invalidation) {
      for (const listener of listeners) listener(invalidation);
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    async close() {
      listeners.length = 0;
    },
  };
}

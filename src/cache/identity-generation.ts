import type { InvalidationBus } from './invalidation-bus.js';

/**
 * The number a node's cached public identities (GET /identities/{handle}, WebFinger) are checked
 * against. Everything that can change what a lookup answers bumps it, after its commit and before it
 * is answered; every lookup reads it in the round trip it makes anyway (see LookupGate), and serves
 * a cached entry only when the entry was stored under the value it just read. So a lookup that
 * starts after a change was answered, on any node, never gets an answer from before the change.
 */
export interface IdentityGeneration {
  /** Moves the generation on; resolves once any lookup that starts afterwards, on any node, reads the new value. */
  bump(): Promise<void>;
}

/**
 * The embedded generation: a counter in this process. A bump goes through the in-memory
 * invalidation bus, which calls every subscriber before `publish` resolves, so every app built on
 * this bus (the one service, or test nodes sharing a database in one process) counts it at once.
 * Only strict where the bus reaches every node: never with several processes (see composition).
 */
export class LocalIdentityGeneration implements IdentityGeneration {
  #value = 0;
  readonly #bus: InvalidationBus;

  constructor(bus: InvalidationBus) {
    this.#bus = bus;
    bus.subscribe((message) => {
      if (message.kind !== 'profile') this.#value++;
    });
  }

  get current(): string {
    return String(this.#value);
  }

  async bump(): Promise<void> {
    await this.#bus.publish({ kind: 'identities' });
  }
}

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
 * A generation counted in this process: every bump goes through the invalidation bus, whose
 * `publish` resolves only once every listening node's subscriber has counted it (the in-memory bus:
 * every app built on it, the one service or test nodes sharing a database in one process; the
 * PostgreSQL and Redis buses: every node, each confirming). So it is strict only where the bus
 * reaches every node (see openLookupGate), and only while this node listens: a node that cannot hear
 * bumps answers a value no entry is stored under, and the bus's `all` on resuming moves it on, past
 * everything cached before.
 */
export class LocalIdentityGeneration implements IdentityGeneration {
  #value = 0;
  /** Hands out a value of its own to each lookup while this node is not listening. */
  #unheard = 0;
  readonly #bus: InvalidationBus;

  constructor(bus: InvalidationBus) {
    this.#bus = bus;
    bus.subscribe((message) => {
      if (message.kind !== 'profile') this.#value++;
    });
  }

  get current(): string {
    return this.#bus.isListening() ? String(this.#value) : `unheard ${++this.#unheard}`;
  }

  /** Throws when some listening node did not confirm: it may still serve what the change replaced. */
  async bump(): Promise<void> {
    if (!(await this.#bus.publish({ kind: 'identities' }))) throw new Error('not every node confirmed the identity generation bump');
  }
}

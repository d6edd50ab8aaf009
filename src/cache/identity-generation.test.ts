import { describe, expect, it } from 'vitest';
import { LocalIdentityGeneration } from './identity-generation.js';
import { createMemoryInvalidationBus, type InvalidationBus } from './invalidation-bus.js';

/** The in-memory bus, with what a bus across nodes may say: not listening, or not confirmed. */
function bus(state: { listening: boolean; confirmed: boolean }): InvalidationBus {
  const inner = createMemoryInvalidationBus();
  return {
    confirmsAcrossNodes: true,
    publish: async (invalidation) => (await inner.publish(invalidation)) && state.confirmed,
    subscribe: (listener) => inner.subscribe(listener),
    isListening: () => state.listening,
    close: () => inner.close(),
  };
}

describe('the local identity generation', () => {
  it('moves on with every bump and every "drop everything", not with a session eviction', async () => {
    const invalidation = bus({ listening: true, confirmed: true });
    const generation = new LocalIdentityGeneration(invalidation);
    const first = generation.current;
    await invalidation.publish({ kind: 'profile', id: 'p' });
    expect(generation.current).toBe(first);
    await generation.bump();
    const second = generation.current;
    expect(second).not.toBe(first);
    await invalidation.publish({ kind: 'all' });
    expect(generation.current).not.toBe(second);
  });

  it('while its node is not listening, answers a value no other lookup reads, so nothing cached is served', () => {
    const state = { listening: false, confirmed: true };
    const generation = new LocalIdentityGeneration(bus(state));
    const values = [generation.current, generation.current];
    expect(values[0]).not.toBe(values[1]);
    state.listening = true;
    expect(generation.current).toBe(generation.current);
    expect(values).not.toContain(generation.current);
  });

  it('fails a bump that some node did not confirm (the change then answers 503 CHANGE_NOT_YET_PUBLIC)', async () => {
    const generation = new LocalIdentityGeneration(bus({ listening: true, confirmed: false }));
    await expect(generation.bump()).rejects.toThrow(/not every node confirmed/);
  });
});

import { describe, expect, it } from 'vitest';
import { Sightings } from './sightings.js';

const MINUTE = 60_000;

describe('sightings of rows without a time of their own', () => {
  it('count from the first sweep that found the row, as long as every later sweep finds it again', () => {
    const sightings = new Sightings();
    expect(sightings.see('no', 'a', 0)).toBe(0);
    sightings.settle('no');
    expect(sightings.see('no', 'a', 4 * MINUTE)).toBe(0);
    sightings.settle('no');
    expect(sightings.see('no', 'a', 11 * MINUTE)).toBe(0);
  });

  it('start again for a row one sweep did not find (pointed at meanwhile), and for a changed row', () => {
    const sightings = new Sightings();
    sightings.see('no', 'a', 0);
    sightings.see('no', 'b:v1', 0);
    sightings.settle('no');
    sightings.see('no', 'b:v2', 5 * MINUTE);
    sightings.settle('no');
    expect(sightings.see('no', 'a', 11 * MINUTE)).toBe(11 * MINUTE);
    expect(sightings.see('no', 'b:v2', 11 * MINUTE)).toBe(5 * MINUTE);
  });

  it('keep territories apart, and keep the last finished sweep when one is abandoned', () => {
    const sightings = new Sightings();
    sightings.see('no', 'a', 0);
    sightings.settle('no');
    sightings.see('dk', 'a', 3 * MINUTE);
    sightings.settle('dk');
    sightings.see('no', 'x', 6 * MINUTE);
    sightings.abandon('no');
    expect(sightings.see('no', 'a', 12 * MINUTE)).toBe(0);
    expect(sightings.see('dk', 'a', 12 * MINUTE)).toBe(3 * MINUTE);
  });
});

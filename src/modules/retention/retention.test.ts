import { describe, expect, it } from 'vitest';
import { pruneCutoffs, type RetentionPolicy } from './retention.js';

const now = new Date('2026-01-10T00:00:00Z');
const policy: RetentionPolicy = { eventSeconds: 7 * 86_400, expiredSeconds: 86_400, sendWindowSeconds: 3600, signingKeyPublishSeconds: 660 };

describe('pruneCutoffs', () => {
  it('keeps delivered events for the event retention and ended rows for the expired retention', () => {
    const cutoffs = pruneCutoffs(policy, now);
    expect(cutoffs.events.toISOString()).toBe('2026-01-03T00:00:00.000Z');
    expect(cutoffs.sessions.toISOString()).toBe('2026-01-09T00:00:00.000Z');
    expect(cutoffs.verifications.toISOString()).toBe('2026-01-09T00:00:00.000Z');
  });

  it('never prunes a challenge the email send limit still counts', () => {
    const cutoffs = pruneCutoffs({ ...policy, expiredSeconds: 60, sendWindowSeconds: 7200 }, now);
    expect(cutoffs.verifications.toISOString()).toBe('2026-01-09T22:00:00.000Z');
    expect(cutoffs.sessions.toISOString()).toBe('2026-01-09T23:59:00.000Z');
  });

  it('keeps a retired signing key while it is published, then for the expired retention', () => {
    expect(pruneCutoffs(policy, now).signingKeys.toISOString()).toBe('2026-01-08T23:49:00.000Z');
  });
});

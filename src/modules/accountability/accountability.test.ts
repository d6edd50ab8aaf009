import { describe, expect, it } from 'vitest';
import { abuseScoreChanges, reviewRequiredFor } from './accountability.js';

const SPEC = { medium: 0.3, high: 0.7 };

describe('abuseScoreChanges', () => {
  it.each([
    [0, 'LOW'],
    [0.29, 'LOW'],
    [0.3, 'MEDIUM'],
    [0.5, 'MEDIUM'],
    [0.69, 'MEDIUM'],
    [0.7, 'HIGH'],
    [1, 'HIGH'],
  ] as const)('derives the risk level from a score of %s (%s) under the spec thresholds', (score, level) => {
    expect(abuseScoreChanges(score, undefined, SPEC)).toEqual({ abuseScore: score, riskLevel: level });
  });

  it('keeps a risk level given with the score', () => {
    expect(abuseScoreChanges(0.9, 'LOW', SPEC)).toEqual({ abuseScore: 0.9, riskLevel: 'LOW' });
    expect(abuseScoreChanges(0, 'HIGH', SPEC)).toEqual({ abuseScore: 0, riskLevel: 'HIGH' });
  });

  it('follows other thresholds', () => {
    expect(abuseScoreChanges(0.5, undefined, { medium: 0.6, high: 0.9 }).riskLevel).toBe('LOW');
    expect(abuseScoreChanges(0.95, undefined, { medium: 0.6, high: 0.9 }).riskLevel).toBe('HIGH');
  });
});

describe('reviewRequiredFor', () => {
  it('sends MEDIUM and HIGH risk to review, LOW not', () => {
    expect(reviewRequiredFor('LOW')).toBe(false);
    expect(reviewRequiredFor('MEDIUM')).toBe(true);
    expect(reviewRequiredFor('HIGH')).toBe(true);
  });
});

describe('storable abuse scores', () => {
  const thresholds = { medium: 0.3, high: 0.7 };

  it('rounds to six decimals, so a value real cannot hold (underflow) becomes 0', () => {
    expect(abuseScoreChanges(1.1952998334145438e-270, undefined, thresholds)).toEqual({ abuseScore: 0, riskLevel: 'LOW' });
    expect(abuseScoreChanges(0.12345678, undefined, thresholds).abuseScore).toBe(0.123457);
    expect(abuseScoreChanges(1, undefined, thresholds)).toEqual({ abuseScore: 1, riskLevel: 'HIGH' });
  });

  it('derives the risk level from the stored value', () => {
    expect(abuseScoreChanges(0.2999999, undefined, thresholds)).toEqual({ abuseScore: 0.3, riskLevel: 'MEDIUM' });
  });
});

import { describe, expect, it } from 'vitest';
import { inferredLinkConfidence, inheritFromGuest, type HeldAccountability } from './guest-inheritance.js';

const clean: HeldAccountability = { riskLevel: 'LOW', abuseScore: 0, banned: false, banReason: null };

describe('inheritFromGuest', () => {
  it('changes nothing when the guest is no stricter', () => {
    expect(inheritFromGuest(clean, clean)).toBeNull();
    expect(inheritFromGuest(clean, { ...clean, riskLevel: 'HIGH', abuseScore: 0.9 })).toBeNull();
  });

  it('takes the higher risk level and the higher abuse score, separately', () => {
    expect(inheritFromGuest({ ...clean, riskLevel: 'MEDIUM', abuseScore: 0.2 }, { ...clean, abuseScore: 0.5 })).toEqual({ riskLevel: 'MEDIUM' });
    expect(inheritFromGuest({ ...clean, abuseScore: 0.4 }, { ...clean, riskLevel: 'HIGH' })).toEqual({ abuseScore: 0.4 });
  });

  it('carries a ban over, naming it as inherited; never lifts one', () => {
    const banned = { ...clean, banned: true, banReason: 'spam' };
    expect(inheritFromGuest(banned, clean)).toEqual({ banReason: 'inherited from a linked guest: spam' });
    expect(inheritFromGuest(clean, banned)).toBeNull();
    expect(inheritFromGuest(banned, banned)).toBeNull();
  });
});

describe('inferredLinkConfidence', () => {
  it('is high, not certain, for a cookie seen signing into one person, and shared out when it signed into several', () => {
    expect(inferredLinkConfidence(1)).toBe(0.9);
    expect(inferredLinkConfidence(2)).toBe(0.45);
    expect(inferredLinkConfidence(3)).toBe(0.3);
    expect(inferredLinkConfidence(0)).toBe(0.9);
  });
});

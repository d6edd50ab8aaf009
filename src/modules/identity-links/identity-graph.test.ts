import { describe, expect, it } from 'vitest';
import type { PrivacyMode } from '../accounts/account.js';
import { accessFor, selectablePersonas, type GraphAccount } from './identity-graph.js';

const account = (id: string, privacyMode: PrivacyMode, selected: string[] = []): GraphAccount => ({ id, privacyMode, selected: new Set(selected) });
const personas = [
  { id: 'p1', ownerAccountId: 'A' },
  { id: 'p2', ownerAccountId: 'B' },
  { id: 'p3', ownerAccountId: 'C' },
];
const sorted = (set: Set<string> | undefined) => [...(set ?? [])].sort();

describe('accessFor: the privacy-mode access table (spec 003)', () => {
  it('linked: every account acts as every persona of the group', () => {
    const access = accessFor([account('A', 'linked'), account('B', 'linked'), account('C', 'linked')], personas);
    for (const id of ['A', 'B', 'C']) expect(sorted(access.get(id))).toEqual(['p1', 'p2', 'p3']);
  });

  it('partial: its own personas plus the chosen ones (A sees 1,2 while B sees 2,3)', () => {
    const access = accessFor([account('A', 'partial', ['p2']), account('B', 'partial', ['p3']), account('C', 'linked')], personas);
    expect(sorted(access.get('A'))).toEqual(['p1', 'p2']);
    expect(sorted(access.get('B'))).toEqual(['p2', 'p3']);
    expect(sorted(access.get('C'))).toEqual(['p1', 'p2', 'p3']);
  });

  it('isolated: only its own, and no other account sees its personas', () => {
    const access = accessFor([account('A', 'isolated'), account('B', 'linked'), account('C', 'partial', ['p1', 'p2'])], personas);
    expect(sorted(access.get('A'))).toEqual(['p1']);
    expect(sorted(access.get('B'))).toEqual(['p2', 'p3']);
    // C chose p1 while A was linked; A's isolation withdraws it.
    expect(sorted(access.get('C'))).toEqual(['p2', 'p3']);
  });

  it('a persona whose making account is gone is shared with the non-isolated accounts', () => {
    const access = accessFor([account('A', 'linked'), account('B', 'isolated')], [{ id: 'p0', ownerAccountId: null }]);
    expect(sorted(access.get('A'))).toEqual(['p0']);
    expect(sorted(access.get('B'))).toEqual([]);
  });

  it('a partial selection may only name shared personas', () => {
    expect(sorted(selectablePersonas([account('A', 'isolated'), account('B', 'linked'), account('C', 'linked')], personas))).toEqual(['p2', 'p3']);
  });
});

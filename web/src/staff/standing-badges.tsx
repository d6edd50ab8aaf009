import type { RiskLevel } from './staff-types.ts';

/** Risk level and ban as badges; the text says it (colour only repeats it, for those who see colour). */
export function StandingBadges({ riskLevel, banned }: { riskLevel: RiskLevel; banned: boolean }) {
  return (
    <>
      <span class={`badge risk-${riskLevel.toLowerCase()}`}>risk {riskLevel}</span>
      {banned && <span class="badge badge-danger">banned</span>}
    </>
  );
}

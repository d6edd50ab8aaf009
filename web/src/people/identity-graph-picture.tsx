import type { IdentityGraph } from './identity-graph-api.ts';

const ROW = 56;
const WIDTH = 640;

/**
 * The identity graph as a picture: sign-in methods on the left, the person in the middle, the personas
 * on the right. A dashed line is an isolated method (it sees only its own personas); arcs on the left
 * are direct links. The same facts are in the list below the picture, for screen readers.
 */
export function IdentityGraphPicture({ graph }: { graph: IdentityGraph }) {
  const rows = Math.max(graph.accounts.length, graph.profiles.length, 1);
  const height = rows * ROW + 24;
  const hub = { x: WIDTH / 2, y: height / 2 };
  const accountAt = (index: number) => ({ x: 150, y: 12 + ROW / 2 + index * ROW + ((rows - graph.accounts.length) * ROW) / 2 });
  const profileAt = (index: number) => ({ x: WIDTH - 150, y: 12 + ROW / 2 + index * ROW + ((rows - graph.profiles.length) * ROW) / 2 });
  const indexOf = new Map(graph.accounts.map((account, index) => [account.ref, index]));
  return (
    <svg class="graph" viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-labelledby="graph-title graph-desc">
      <title id="graph-title">Your identity graph</title>
      <desc id="graph-desc">
        {graph.accounts.length} sign-in {graph.accounts.length === 1 ? 'method' : 'methods'}, {graph.links.length} direct {graph.links.length === 1 ? 'link' : 'links'}, {graph.profiles.length} {graph.profiles.length === 1 ? 'persona' : 'personas'}.
      </desc>
      {graph.links.map((link) => {
        const from = accountAt(indexOf.get(link.from) ?? 0);
        const to = accountAt(indexOf.get(link.to) ?? 0);
        const bend = 40 + Math.abs(to.y - from.y) / 3;
        return <path key={`${link.from}-${link.to}`} class="graph-link" d={`M ${from.x - 70} ${from.y} C ${from.x - 70 - bend} ${from.y}, ${to.x - 70 - bend} ${to.y}, ${to.x - 70} ${to.y}`} />;
      })}
      {graph.accounts.map((account, index) => {
        const at = accountAt(index);
        return (
          <g key={account.ref}>
            <line class={`graph-edge ${account.privacyMode}`} x1={at.x + 70} y1={at.y} x2={hub.x - 28} y2={hub.y} />
            <rect class={`graph-node${account.current ? ' current' : ''}`} x={at.x - 70} y={at.y - 20} width={140} height={40} rx={8} />
            <text class="graph-label" x={at.x} y={at.y - 3} text-anchor="middle">{account.provider ?? account.type}</text>
            <text class="graph-sub" x={at.x} y={at.y + 13} text-anchor="middle">{account.privacyMode}</text>
          </g>
        );
      })}
      {graph.profiles.map((profile, index) => {
        const at = profileAt(index);
        return (
          <g key={profile.id}>
            <line class="graph-edge" x1={hub.x + 28} y1={hub.y} x2={at.x - 70} y2={at.y} />
            <rect class="graph-node persona" x={at.x - 70} y={at.y - 20} width={140} height={40} rx={20} />
            <text class="graph-label" x={at.x} y={at.y + 5} text-anchor="middle">{truncate(profile.displayName)}</text>
          </g>
        );
      })}
      <circle class="graph-hub" cx={hub.x} cy={hub.y} r={28} />
      <text class="graph-label" x={hub.x} y={hub.y + 5} text-anchor="middle">you</text>
    </svg>
  );
}

const truncate = (text: string) => (text.length > 16 ? `${text.slice(0, 15)}…` : text);

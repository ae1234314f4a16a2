/**
 * A self-contained SVG of target vs generated share per title (the seed's Figure 4): titles on the x
 * axis sorted by target share, target as grey bars, each model as a coloured line with markers.
 */
import { esc, svgHead } from '../util/svgPlot';

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];

export function distributionSvg(
  titles: string[],
  target: ArrayLike<number>,
  series: { name: string; shares: ArrayLike<number> }[],
  title: string,
): string {
  const n = titles.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => target[b] - target[a]);
  const W = 1100,
    H = 460;
  const m = { l: 60, r: 20, t: 40, b: 60 };
  const pw = W - m.l - m.r,
    ph = H - m.t - m.b;
  let ymax = 0;
  for (let i = 0; i < n; i++) ymax = Math.max(ymax, target[i]);
  for (const s of series) for (let i = 0; i < n; i++) ymax = Math.max(ymax, s.shares[i]);
  ymax = ymax > 0 ? ymax * 1.05 : 1;
  const bw = pw / Math.max(n, 1);
  const x = (k: number) => m.l + (k + 0.5) * bw;
  const y = (v: number) => m.t + ph - (v / ymax) * ph;
  const out = svgHead(W, H, title);
  // axes and y ticks
  out.push(
    `<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="#333"/>`,
  );
  for (let t = 0; t <= 5; t++) {
    const v = (ymax * t) / 5;
    out.push(
      `<line x1="${m.l - 4}" y1="${y(v)}" x2="${m.l + pw}" y2="${y(v)}" stroke="#eee"/><text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${(100 * v).toFixed(1)}%</text>`,
    );
  }
  out.push(`<text x="${m.l + pw / 2}" y="${H - 30}" text-anchor="middle">titles, sorted by target share (hover for names)</text>`);
  out.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">share of generations</text>`);
  order.forEach((i, k) => {
    const h = m.t + ph - y(target[i]);
    out.push(
      `<rect x="${(m.l + k * bw + bw * 0.1).toFixed(2)}" y="${y(target[i]).toFixed(2)}" width="${(bw * 0.8).toFixed(2)}" height="${h.toFixed(2)}" fill="#bbb"><title>${esc(titles[i])}: target ${(100 * target[i]).toFixed(2)}%${series.map((s) => `, ${esc(s.name)} ${(100 * s.shares[i]).toFixed(2)}%`).join('')}</title></rect>`,
    );
  });
  series.forEach((s, j) => {
    const col = COLORS[j % COLORS.length];
    const pts = order.map((i, k) => `${x(k).toFixed(2)},${y(s.shares[i]).toFixed(2)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${col}" stroke-width="1.5" opacity="0.85"/>`);
    order.forEach((i, k) => out.push(`<circle cx="${x(k).toFixed(2)}" cy="${y(s.shares[i]).toFixed(2)}" r="2" fill="${col}"/>`));
  });
  const legend = [{ name: 'target P*', col: '#bbb' }, ...series.map((s, j) => ({ name: s.name, col: COLORS[j % COLORS.length] }))];
  legend.forEach((l, j) => {
    const lx = m.l + pw - 160,
      ly = m.t + 10 + j * 18;
    out.push(
      `<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${l.col}"/><text x="${lx + 18}" y="${ly + 1}">${esc(l.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

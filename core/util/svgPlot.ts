/**
 * Small dependency-free SVG line plots for run folders (sweep curves, the RQ1 share plot): a person
 * opens them in any browser or in VS Code's image preview. Linear or log x axis, one or more series,
 * optional error bars (mean ± std).
 */
export interface Series {
  label: string;
  points: { x: number; y: number; err?: number }[];
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  /** Draw a marker (with a hover title) per point; off for long curves. Default on. */
  markers?: boolean;
  width?: number;
  height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** Text escaped for SVG content and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The opening lines of a W×H plot: the <svg> element, a white background and the title centred at the top. */
export function svgHead(W: number, H: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
  ];
}

/** "Nice" tick values over [lo, hi] (about n of them). */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

export function linePlotSvg(series: Series[], o: PlotOptions): string {
  const W = o.width ?? 640,
    H = o.height ?? 400;
  const m = { l: 70, r: 20 + (series.length > 1 ? 150 : 0), t: 40, b: 55 };
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (!pts.length)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="30">${esc(o.title)}: no data</text></svg>\n`;
  const fx = (x: number) => (o.logX ? Math.log10(x) : x);
  let x0 = Math.min(...pts.map((p) => fx(p.x))),
    x1 = Math.max(...pts.map((p) => fx(p.x)));
  let y0 = Math.min(...pts.map((p) => p.y - (p.err ?? 0))),
    y1 = Math.max(...pts.map((p) => p.y + (p.err ?? 0)));
  if (x0 === x1) {
    x0 -= 1;
    x1 += 1;
  }
  if (y0 === y1) {
    y0 -= Math.abs(y0) * 0.1 || 1;
    y1 += Math.abs(y1) * 0.1 || 1;
  }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const px = (x: number) => m.l + ((fx(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts = svgHead(W, H, o.title);
  // axes + ticks
  parts.push(
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`,
  );
  const xt = o.logX
    ? niceTicks(Math.floor(x0), Math.ceil(x1), Math.max(1, Math.ceil(x1) - Math.floor(x0)))
        .filter((t) => Number.isInteger(t) && t >= x0 - 1e-9 && t <= x1 + 1e-9)
        .map((t) => 10 ** t)
    : niceTicks(x0, x1);
  for (const t of xt) {
    const X = px(t);
    parts.push(
      `<line x1="${X}" y1="${H - m.b}" x2="${X}" y2="${H - m.b + 5}" stroke="#333"/><text x="${X}" y="${H - m.b + 18}" text-anchor="middle">${fmtTick(t)}</text>`,
    );
  }
  for (const t of niceTicks(y0, y1)) {
    const Y = py(t);
    parts.push(
      `<line x1="${m.l - 5}" y1="${Y}" x2="${W - m.r}" y2="${Y}" stroke="#ddd"/><text x="${m.l - 8}" y="${Y + 4}" text-anchor="end">${fmtTick(t)}</text>`,
    );
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}${o.logX ? ' (log scale)' : ''}</text>`);
  parts.push(`<text transform="translate(18 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const ps = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (ps.length > 1)
      parts.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2" points="${ps.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`,
      );
    if (o.markers !== false)
      for (const p of ps) {
        if (p.err) parts.push(`<line x1="${px(p.x)}" y1="${py(p.y - p.err)}" x2="${px(p.x)}" y2="${py(p.y + p.err)}" stroke="${c}"/>`);
        parts.push(
          `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${c}"><title>${esc(s.label)}: x=${p.x}, y=${p.y}${p.err ? ` ± ${p.err}` : ''}</title></circle>`,
        );
      }
    if (series.length > 1)
      parts.push(
        `<rect x="${W - m.r + 12}" y="${m.t + i * 18}" width="12" height="3" fill="${c}"/><text x="${W - m.r + 30}" y="${m.t + i * 18 + 5}">${esc(s.label)}</text>`,
      );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

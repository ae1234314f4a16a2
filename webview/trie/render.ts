/**
 * SVG drawing of the icicle: one <g class="node"> per visible node (rect + label when tall enough),
 * colour = the policy's probability of the prefix against the target flow (docs/methods.md §A3: P*(prefix) = F(s)),
 * from theme colours (--vscode-charts-red = over-generated, --vscode-charts-blue = under-generated).
 * Opacity grows with |log2(policy / F)|, saturating at 16×.
 */
import type { HierarchyRectangularNode } from 'd3-hierarchy';
import { fmt, h, svg } from '../common/dom';
import { AGG, MISSING, type Layout, type VisNode } from './layout';
import type { TrieModel } from './model';

export interface Shown {
  flow: number;
  policy: number; // NaN when not measured
}

/**
 * What a node's colour compares: `prefix` = the policy's probability of the whole prefix against its
 * target P*(prefix) = F(s) (docs/methods.md §A3); `step` = the policy's conditional probability of the last token,
 * P(s)/P(parent), against the process reward R_p = F(s)/F(parent) (local over/under-generation).
 */
export type ColourMode = 'prefix' | 'step';

/** Policy probability of a visible node's prefix (sum over an aggregate's members; NaN if unmeasured). */
export function policyOf(model: TrieModel, v: VisNode, policy: Float64Array | undefined): number {
  if (!policy || v.node === MISSING) return NaN;
  if (v.node >= 0) return policy[v.node];
  const ch = model.children(v.parent);
  let s = 0;
  for (let k = v.from; k < ch.length; k++) s += policy[ch[k]];
  return s;
}

/** (target, policy) pair the colour compares, in the given mode. */
export function compared(
  model: TrieModel,
  v: VisNode,
  policy: Float64Array | undefined,
  mode: ColourMode,
): { target: number; policy: number } {
  const pol = policyOf(model, v, policy);
  if (mode === 'prefix' || v.node === model.root) return { target: v.flow, policy: pol };
  const parent = v.node >= 0 ? model.parent[v.node] : v.parent;
  const pp = policy && parent >= 0 ? policy[parent] : NaN;
  return { target: parent >= 0 ? v.flow / model.flow[parent] : NaN, policy: pp > 0 ? pol / pp : NaN };
}

/** |log2(policy / target)| under this (within ±10%) counts as a match (green). */
export const MATCH_LOG2 = Math.log2(1.1);

/**
 * Over/under class and opacity for policy vs target flow. Every measured node gets a visible colour:
 * green = matches (within ±10%), red/blue from 0.4 opacity (just past ±10%) to 1 (16× off), so a
 * well-fitted checkpoint reads green, not as the grey of "no policy measured".
 */
export function colourOf(flow: number, policy: number): { cls: string; opacity: number; log2: number } {
  if (!Number.isFinite(policy) || flow <= 0) return { cls: 'nopolicy', opacity: 1, log2: NaN };
  const l = Math.log2(Math.max(policy, 1e-300) / flow);
  if (Math.abs(l) < MATCH_LOG2) return { cls: 'match', opacity: 0.85, log2: l };
  const opacity = 0.4 + 0.6 * Math.min(1, (Math.abs(l) - MATCH_LOG2) / (4 - MATCH_LOG2));
  return { cls: l > 0 ? 'over' : 'under', opacity, log2: l };
}

/** The label of a node: its token text (visible whitespace), "⏎" for the terminal token, "+N more" for an aggregate. */
export function labelOf(model: TrieModel, v: VisNode): string {
  if (v.node === MISSING) return 'not in snapshot';
  if (v.node === AGG) return `+${v.count} more`;
  if (v.node === model.root) return 'all titles';
  if (model.terminal[v.node]) return '⏎ ' + (model.title[v.node] ?? '');
  return model.text[v.node].replace(/\n/g, '⏎');
}

export class IcicleView {
  readonly svgEl: SVGSVGElement;
  readonly tooltip: HTMLElement;
  private nodes: HierarchyRectangularNode<VisNode>[] = [];
  /** The node under the mouse (its model id, or the aggregate's parent+from), so the tooltip follows redraws. */
  private hovered: { node: number; parent: number; from: number } | undefined;

  constructor(
    readonly container: HTMLElement,
    private readonly onClick: (v: VisNode) => void,
    private readonly describe: (v: VisNode) => HTMLElement,
  ) {
    this.svgEl = svg('svg', { class: 'icicle', role: 'img' });
    this.tooltip = h('div', { class: 'tooltip hidden', role: 'tooltip' });
    container.append(this.svgEl, this.tooltip);
    this.svgEl.addEventListener('click', (e) => {
      const v = this.hit(e);
      if (v) this.onClick(v.data);
    });
    this.svgEl.addEventListener('mousemove', (e) => this.showTip(e));
    this.svgEl.addEventListener('mouseleave', () => {
      this.tooltip.classList.add('hidden');
      this.hovered = undefined;
    });
  }

  private hit(e: Event): HierarchyRectangularNode<VisNode> | undefined {
    const g = (e.target as Element).closest('g.node');
    const k = g ? Number(g.getAttribute('data-k')) : NaN;
    return Number.isInteger(k) ? this.nodes[k] : undefined;
  }

  private showTip(e: MouseEvent): void {
    const n = this.hit(e);
    if (!n) {
      this.tooltip.classList.add('hidden');
      this.hovered = undefined;
      return;
    }
    this.hovered = { node: n.data.node, parent: n.data.parent, from: n.data.from };
    this.tooltip.replaceChildren(this.describe(n.data));
    this.tooltip.classList.remove('hidden');
    const box = this.container.getBoundingClientRect();
    const x = e.clientX - box.left + 14,
      y = e.clientY - box.top + 14;
    const w = this.tooltip.offsetWidth,
      hgt = this.tooltip.offsetHeight;
    this.tooltip.style.left = `${Math.max(0, Math.min(x, box.width - w - 4))}px`;
    this.tooltip.style.top = `${Math.max(0, y + hgt > box.height ? y - hgt - 20 : y)}px`;
  }

  /** Draws a layout; `highlight` = dense node indices to outline (a search hit's path). */
  draw(
    model: TrieModel,
    layout: Layout,
    policy: Float64Array | undefined,
    mode: ColourMode,
    highlight: Set<number>,
    width: number,
    height: number,
  ): void {
    this.nodes = layout.nodes;
    this.svgEl.setAttribute('width', String(width));
    this.svgEl.setAttribute('height', String(height));
    this.svgEl.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const frag = document.createDocumentFragment();
    layout.nodes.forEach((n, k) => {
      const v = n.data;
      const x = n.y0,
        y = n.x0,
        w = n.y1 - n.y0 - 1,
        hh = n.x1 - n.x0;
      if (hh < 0.5) return;
      const cmp = compared(model, v, policy, mode);
      const c = colourOf(cmp.target, cmp.policy);
      const kind = v.node === MISSING ? 'missing' : v.node === AGG ? 'agg' : c.cls;
      const g = svg('g', {
        class: `node ${kind}${highlight.has(v.node) ? ' hit' : ''}`,
        'data-k': k,
        'data-id': v.node >= 0 ? model.id[v.node] : v.node,
        transform: `translate(${x},${y})`,
      });
      const r = svg('rect', {
        width: Math.max(0, w),
        height: Math.max(0.5, hh - (hh > 3 ? 1 : 0)),
        'fill-opacity': v.node < 0 ? 0.5 : c.opacity.toFixed(3),
      });
      g.append(r);
      if (hh >= 13 && w > 24) {
        const t = svg('text', { x: 4, y: Math.min(hh / 2, 14) + 4, class: 'label' });
        const label = labelOf(model, v);
        const maxChars = Math.floor((w - 8) / 6.5);
        t.textContent = label.length > maxChars ? label.slice(0, Math.max(1, maxChars - 1)) + '…' : label;
        g.append(t);
      }
      frag.append(g);
    });
    this.svgEl.replaceChildren(frag);
    // the tooltip follows a redraw (another checkpoint on the slider, another colour mode) without a mouse move
    const h0 = this.hovered;
    const still =
      h0 && !this.tooltip.classList.contains('hidden')
        ? this.nodes.find((n) => n.data.node === h0.node && n.data.parent === h0.parent && n.data.from === h0.from)
        : undefined;
    if (still) this.tooltip.replaceChildren(this.describe(still.data));
    else if (h0) {
      this.tooltip.classList.add('hidden');
      this.hovered = undefined;
    }
  }
}

/** Tooltip body for a visible node. */
export function describeNode(model: TrieModel, v: VisNode, policy: Float64Array | undefined, mode: ColourMode): HTMLElement {
  const pol = policyOf(model, v, policy);
  const cmp = compared(model, v, policy, mode);
  const c = colourOf(cmp.target, cmp.policy);
  const rows: [string, string][] = [];
  if (v.node === MISSING) rows.push(['not in snapshot', "children of this prefix outside the snapshot's top nodes"]);
  else if (v.node >= 0) {
    rows.push(['token', JSON.stringify(model.text[v.node] ?? '')]);
    rows.push(['R_p = F(s)/F(parent)', fmt(model.rp[v.node])]);
  } else rows.push(['aggregate', `${v.count} smaller children (click to expand)`]);
  rows.push(['target F(s)', fmt(v.flow)]);
  if (v.node !== MISSING) rows.push(['policy P(prefix)', Number.isFinite(pol) ? fmt(pol) : 'not measured']);
  if (mode === 'step' && Number.isFinite(cmp.policy)) rows.push(['policy P(token | parent)', fmt(cmp.policy)]);
  if (Number.isFinite(c.log2))
    rows.push([
      mode === 'step' ? 'P(token | parent) / R_p' : 'policy / target',
      `${fmt(2 ** c.log2, 3)}× (${c.cls === 'over' ? 'over-generates' : c.cls === 'under' ? 'under-generates' : 'matches'})`,
    ]);
  const head =
    v.node >= 0
      ? model.terminal[v.node]
        ? (model.title[v.node] ?? '')
        : model.prefixText(v.node) || '(root)'
      : model.prefixText(v.parent) + ' …';
  return h(
    'div',
    {},
    h('div', { class: 'tip-head' }, head),
    h('table', {}, ...rows.map(([k, val]) => h('tr', {}, h('th', {}, k), h('td', {}, val)))),
  );
}

/**
 * Trie flow explorer: the title prefix tree as an icicle sized by target flow F(s)
 * (docs/methods.md §A3), coloured by the policy's probability of each prefix against that target (over/under-
 * generation), per checkpoint (`trie-snapshot` events). Click a node to zoom into its prefix, a "+N more"
 * aggregate to expand it, the breadcrumb to zoom out; search a title; slide over checkpoints.
 */
import './trie.css';
import type { TrieViewState } from '../contract';
import { h } from '../common/dom';
import { loadUiState, markRendered, perFrame, saveUiState, startView, type Increment } from '../common/host';
import { button, dropdown, registerToolkit, textField, textValue } from '../toolkit';
import { AGG, layoutIcicle, MISSING, type Focus, type VisNode } from './layout';
import { TrieModel, type AnySnapshot } from './model';
import { describeNode, IcicleView, labelOf, type ColourMode } from './render';

interface UiState {
  /** Focus by stable node id: a node, or an aggregate (children of `parent` from rank `from`). */
  focus: { id: number } | { parentId: number; from: number };
  checkpoint: number;
  search: string;
  mode: ColourMode;
}

const COL_WIDTH = 120;
const MIN_PX = 3;

registerToolkit();
const app = document.getElementById('app')!;
const saved = loadUiState<UiState>();
let snapshots: AnySnapshot[] = [];
let model: TrieModel | undefined;
let focus: Focus | undefined;
let checkpoint = saved.checkpoint ?? -1; // -1 = latest
let highlight = new Set<number>();
let mode: ColourMode = saved.mode === 'step' ? 'step' : 'prefix';
/** A message shown after the status line until the next search (e.g. "no title matches"). */
let notice = '';

const titleEl = h('h2', { class: 'view-title' }, 'Trie flow');
const searchField = textField('Search a title…', saved.search ?? '', { id: 'search', size: 30, onEnter: (v) => search(v) });
const searchBtn = button('Find', () => search(textValue(searchField)), { appearance: 'secondary', id: 'search-btn' });
const slider = h('input', { type: 'range', id: 'checkpoint', min: '0', max: '0', step: '1', value: '0', 'aria-label': 'checkpoint' });
const sliderLabel = h('span', { id: 'checkpoint-label', class: 'muted' }, '');
const COLOUR_MODES: Record<ColourMode, string> = { prefix: 'colour: P(prefix) vs F(s)', step: 'colour: P(token | parent) vs R_p' };
const modeSel = dropdown(
  COLOUR_MODES,
  mode,
  (v) => {
    mode = v;
    persist();
    scheduleDraw();
  },
  'colour-mode',
);
// every colour the icicle uses (render.ts colourOf and the node kinds), with what it means
const LEGEND: [cls: string, meaning: string][] = [
  ['over', 'policy > target: over-generates (darker = further off, 16× = full) '],
  ['under', 'policy < target: under-generates '],
  ['match', 'matches the target (within ±10%) '],
  ['nopolicy', 'no policy measured at this checkpoint '],
  ['agg', 'smaller siblings merged (click to expand) '],
  ['missing', 'flow of children left out of the snapshot'],
];
const legend = h(
  'div',
  { class: 'legend', id: 'legend' },
  ...LEGEND.flatMap(([cls, meaning]) => [h('span', { class: `swatch ${cls}`, 'data-cls': cls }), meaning]),
);
const crumbs = h('nav', { id: 'breadcrumb', class: 'breadcrumb' });
const chart = h('div', { id: 'trie', class: 'chart' });
const status = h('div', { id: 'status', class: 'status muted' }, 'waiting for a trie snapshot…');
app.append(
  h(
    'header',
    { class: 'toolbar' },
    titleEl,
    searchField,
    searchBtn,
    modeSel,
    h('label', { class: 'slider' }, 'checkpoint ', slider, sliderLabel),
  ),
  legend,
  crumbs,
  chart,
  status,
);

const icicle = new IcicleView(
  chart,
  (v) => zoom(v),
  (v) => describeNode(model!, v, currentPolicy(), mode),
);

slider.addEventListener('input', () => {
  checkpoint = Number(slider.value);
  persist();
  scheduleDraw();
});

function currentPolicy(): Float64Array | undefined {
  if (!model || model.checkpoints.length === 0) return undefined;
  const i = checkpoint < 0 || checkpoint >= model.checkpoints.length ? model.checkpoints.length - 1 : checkpoint;
  return model.checkpoints[i].hasPolicy ? model.checkpoints[i].policy : undefined;
}

function persist(): void {
  if (!model || !focus) return;
  const f: UiState['focus'] = 'node' in focus ? { id: model.id[focus.node] } : { parentId: model.id[focus.parent], from: focus.from };
  saveUiState<UiState>({ focus: f, checkpoint, search: textValue(searchField), mode });
}

function zoom(v: VisNode): void {
  if (!model || v.node === MISSING) return;
  const isFocus = focus && ('node' in focus ? focus.node === v.node : v.node < 0 && focus.parent === v.parent && focus.from === v.from);
  if (isFocus) {
    // clicking the focus zooms out one level
    if ('node' in focus!) focus = model.parent[focus.node] >= 0 ? { node: model.parent[focus.node] } : focus;
    else focus = { node: focus!.parent };
  } else focus = v.node >= 0 ? { node: v.node } : { parent: v.parent, from: v.from };
  persist();
  scheduleDraw();
}

/** Zooms so that a title's terminal node is visible (≤ the columns that fit, ≥ MIN_PX tall) and outlines its path. */
function search(q: string): void {
  if (!model) return;
  const t = model.findTitle(q);
  notice = t < 0 && q.trim() ? `no title in this snapshot matches "${q.trim()}"` : '';
  if (t < 0) {
    highlight = new Set();
    scheduleDraw();
    return;
  }
  const path = model.pathTo(t);
  highlight = new Set(path);
  const levels = Math.max(1, Math.floor(chartWidth() / COL_WIDTH));
  let f = path[Math.max(0, path.length - levels)];
  for (const a of path) {
    if (model.depth[t] - model.depth[a] >= levels) continue;
    if ((model.flow[t] / model.flow[a]) * chartHeight() >= MIN_PX) {
      f = a;
      break;
    }
  }
  focus = { node: f };
  persist();
  scheduleDraw();
}

function chartWidth(): number {
  return Math.max(240, chart.clientWidth || 800);
}
function chartHeight(): number {
  return Math.max(200, chart.clientHeight || 480);
}

function drawBreadcrumb(): void {
  if (!model || !focus) return;
  const m = model;
  const last = 'node' in focus ? focus.node : focus.parent;
  const items: HTMLElement[] = m.pathTo(last).map((v) => {
    const a = h(
      'a',
      { href: '#', class: 'crumb', 'data-id': String(m.id[v]) },
      labelOf(m, { node: v, parent: m.parent[v], from: 0, count: 1, flow: m.flow[v] }),
    );
    a.addEventListener('click', (e) => {
      e.preventDefault();
      focus = { node: v };
      persist();
      scheduleDraw();
    });
    return a;
  });
  if (!('node' in focus)) items.push(h('span', { class: 'crumb' }, `+${m.children(focus.parent).length - focus.from} smaller`));
  crumbs.replaceChildren(...items.flatMap((el, i) => (i ? [h('span', { class: 'sep' }, '›'), el] : [el])));
}

const scheduleDraw = perFrame(() => draw());

function draw(): void {
  if (!model || model.size === 0 || !focus) return;
  const width = chartWidth(),
    height = chartHeight();
  performance.mark('trie:draw-start');
  const layout = layoutIcicle(model, focus, { width, height, colWidth: COL_WIDTH, minPx: MIN_PX });
  performance.mark('trie:layout');
  const policy = currentPolicy();
  icicle.draw(model, layout, policy, mode, highlight, width, height);
  performance.mark('trie:dom');
  drawBreadcrumb();
  const n = model.checkpoints.length;
  const ci = checkpoint < 0 || checkpoint >= n ? n - 1 : checkpoint;
  slider.max = String(Math.max(0, n - 1));
  slider.value = String(Math.max(0, ci));
  slider.disabled = n <= 1;
  const cp = model.checkpoints[ci];
  sliderLabel.textContent = cp ? `${cp.label} (${ci + 1}/${n})${cp.hasPolicy ? '' : ' — no policy measured'}` : '';
  titleEl.textContent = `Trie flow — ${model.dataset || 'dataset'} (${model.tokenizer || 'tokenizer'})`;
  const real = layout.nodes.filter((n) => n.data.node >= 0).length;
  const aggs = layout.nodes.filter((n) => n.data.node === AGG).length;
  status.textContent = `${real} nodes drawn${aggs ? ` (+${aggs} merged groups)` : ''} of ${model.size} in the snapshot (${model.totalNodes || model.size} in the full trie)${notice ? ` · ${notice}` : ''}`;
  markRendered();
}

function rebuild(): void {
  model = new TrieModel(snapshots);
  const m = model;
  focus = { node: m.root };
  const f = saved.focus;
  if (f && 'id' in f && m.indexOf(f.id) >= 0) focus = { node: m.indexOf(f.id) };
  else if (f && 'parentId' in f && m.indexOf(f.parentId) >= 0) focus = { parent: m.indexOf(f.parentId), from: f.from };
  if (saved.search) highlight = new Set(m.findTitle(saved.search) >= 0 ? m.pathTo(m.findTitle(saved.search)) : []);
}

function addSnapshots(events: Increment[]): void {
  const news = events.filter((e): e is AnySnapshot => e.type === 'trie-snapshot' || e.type === 'packed-trie-snapshot');
  if (!news.length) return;
  const following = !model || checkpoint < 0 || checkpoint === model.checkpoints.length - 1;
  snapshots.push(...news);
  if (!model || !news.every((s) => model!.addCheckpoint(s))) {
    const keep =
      focus && model
        ? 'node' in focus
          ? { id: model.id[focus.node] }
          : { parentId: model.id[focus.parent], from: focus.from }
        : saved.focus;
    saved.focus = keep;
    rebuild();
  }
  if (following) checkpoint = -1; // keep following the newest checkpoint
  scheduleDraw();
}

new ResizeObserver(() => scheduleDraw()).observe(chart);
// Escape / Backspace outside the search field: zoom out one level
window.addEventListener('keydown', (e) => {
  if (!model || !focus || (e.key !== 'Escape' && e.key !== 'Backspace') || (e.target as Element).closest?.('vscode-text-field')) return;
  const up = 'node' in focus ? model.parent[focus.node] : focus.parent;
  if (up < 0 && 'node' in focus) return;
  focus = { node: 'node' in focus ? up : focus.parent };
  persist();
  scheduleDraw();
});

startView<TrieViewState>('trie', {
  onInit(state) {
    performance.mark('trie:init');
    snapshots = [...state.snapshots];
    model = undefined;
    if (snapshots.length) rebuild();
    else status.textContent = 'no trie snapshot yet (a Flower run emits one per checkpoint)';
    performance.mark('trie:model');
    scheduleDraw();
  },
  onEvents(events) {
    addSnapshots(events);
  },
});

/**
 * Live loss curves: every `metric` event of the selected runs, one chart per metric (so a GFN loss in
 * the hundreds never flattens the SFT loss; or one chart per kind of metric), runs overlaid with a stable
 * colour per run and a line style per variant (the series qualifier: sft, flower, an AFL variant), the last
 * value in the legend (the value under the cursor while hovering), a click on a legend entry toggles that
 * series, x = step / epoch / wall time, log scale and EMA smoothing. Every choice persists (setState).
 * Events are stored as they arrive and drawn at most once per animation frame, so a fast stream
 * (20+ events/s) is batched and nothing is dropped.
 */
import 'uplot/dist/uPlot.min.css';
import './loss.css';
import type { LossViewState } from '../contract';
import { ema, runColour, RUN_DASHES, themedAxes, uPlot } from '../common/charts';
import { h, onThemeChange } from '../common/dom';
import { collector, loadUiState, markRendered, perFrame, RunRefs, saveUiState, startView, uiSetter } from '../common/host';
import { checkbox, dropdown, registerToolkit } from '../toolkit';
import { GROUPS, onAxis, SeriesStore, type Series, type XAxis } from './series';
import { fmt } from '../common/dom';

interface UiState {
  log: boolean;
  smoothing: number;
  hidden: string[];
  /** One chart per metric (default) or per kind of metric. */
  layout: 'metric' | 'group';
  x: XAxis;
}

registerToolkit();
const app = document.getElementById('app')!;
const saved = loadUiState<UiState>();
const ui: UiState = {
  log: saved.log ?? false,
  smoothing: saved.smoothing ?? 0,
  hidden: saved.hidden ?? [],
  layout: saved.layout ?? 'metric',
  x: saved.x ?? 'step',
};
const store = new SeriesStore();
const runs = new RunRefs();
/** A choice that changes the charts: saved, then the charts are made again. */
const set = uiSetter(ui, () => {
  persist();
  rebuildCharts();
});

const smoothing = h('input', {
  type: 'range',
  id: 'smoothing',
  min: '0',
  max: '0.99',
  step: '0.01',
  value: String(ui.smoothing),
  'aria-label': 'smoothing',
});
const smoothingLabel = h('span', { id: 'smoothing-value', class: 'muted' }, ui.smoothing.toFixed(2));
const logBox = checkbox('log scale', ui.log, set('log'), 'log-scale');
const layoutSel = dropdown({ metric: 'one chart per metric', group: 'one chart per kind' }, ui.layout, set('layout'), 'layout');
const xSel = dropdown({ step: 'x: step', epoch: 'x: epoch', time: 'x: wall time (s)' }, ui.x, set('x'), 'x-axis');
const status = h('div', { id: 'status', class: 'status muted' }, 'waiting for metrics…');
const chartsEl = h('div', { id: 'charts' });
app.append(
  h(
    'header',
    { class: 'toolbar' },
    h('h2', { class: 'view-title' }, 'Loss curves'),
    layoutSel,
    xSel,
    logBox,
    h('label', { class: 'slider' }, 'smoothing ', smoothing, smoothingLabel),
  ),
  chartsEl,
  status,
);
smoothing.addEventListener('input', () => {
  ui.smoothing = Number(smoothing.value);
  smoothingLabel.textContent = ui.smoothing.toFixed(2);
  persist();
  schedule();
});

function persist(): void {
  saveUiState<UiState>(ui);
}

interface Chart {
  id: string;
  keys: string[];
  plot: uPlot;
  box: HTMLElement;
  list: Series[];
}
const charts = new Map<string, Chart>();

/** Legend label: the variant and, with several runs, the run (colour = run, line style = variant). */
function labelOf(s: Series, multiRun: boolean, perMetric: boolean): string {
  const name = perMetric ? (s.qualifier ?? s.name) : s.name + (s.qualifier ? ` (${s.qualifier})` : '');
  return multiRun ? `${runs.nameOf(s.runId)} · ${name}` : name;
}

/** The charts to draw: id, title, y label and series (one per metric name, or per GROUPS entry). */
function chartSpecs(): { id: string; title: string; yLabel: string; list: Series[] }[] {
  const all = [...store.series.values()].sort(
    (a, b) => store.runIndex(a.runId) - store.runIndex(b.runId) || (a.qualifier ?? '').localeCompare(b.qualifier ?? ''),
  );
  if (ui.layout === 'group') {
    return GROUPS.map((g) => ({ id: g.id, title: g.title, yLabel: g.yLabel, list: all.filter((s) => s.group === g.id) })).filter(
      (c) => c.list.length,
    );
  }
  const names = [...new Set(all.map((s) => s.name))].sort(
    (a, b) =>
      GROUPS.findIndex((g) => g.id === store.series.get([...store.series.keys()].find((k) => store.series.get(k)!.name === a)!)!.group) -
        GROUPS.findIndex((g) => g.id === store.series.get([...store.series.keys()].find((k) => store.series.get(k)!.name === b)!)!.group) ||
      a.localeCompare(b),
  );
  return names.map((n) => ({ id: `m:${n}`, title: n, yLabel: n.split('/').pop() ?? n, list: all.filter((s) => s.name === n) }));
}

/** Seconds on the wall-time axis count from each run's first metric. */
function runStart(runId: string): number {
  let t0 = Infinity;
  for (const s of store.series.values()) if (s.runId === runId && s.ts.length) t0 = Math.min(t0, s.ts[0]);
  return Number.isFinite(t0) ? t0 : 0;
}

function dataFor(list: Series[]): uPlot.AlignedData {
  const tables = list.map((s) => {
    const { xs, ys: raw } = onAxis(s, ui.x, runStart(s.runId));
    let ys: (number | null)[] = ema(raw, ui.smoothing);
    if (ui.log) ys = ys.map((y) => (y !== null && y > 0 ? y : null));
    return [xs, ys] as uPlot.AlignedData;
  });
  return tables.length === 1 ? tables[0] : uPlot.join(tables);
}

function width(): number {
  return Math.max(300, (chartsEl.clientWidth || 800) - 8);
}

/** The last value of a series on the current axis (what the legend shows when the cursor is away). */
function lastOf(s: Series): number | undefined {
  const { ys } = onAxis(s, ui.x, runStart(s.runId));
  return ys.length ? ys[ys.length - 1] : undefined;
}

function makeChart(spec: { id: string; title: string; yLabel: string; list: Series[] }): Chart {
  const { list } = spec;
  const variants = [...new Set([...store.series.values()].map((s) => s.qualifier ?? ''))].sort();
  const multiRun = new Set(list.map((s) => s.runId)).size > 1 || runs.size > 1;
  const perMetric = ui.layout === 'metric';
  const opts: uPlot.Options = {
    title: spec.title,
    width: width(),
    height: perMetric ? 200 : 240,
    scales: { x: { time: false }, y: { distr: ui.log ? 3 : 1 } },
    axes: themedAxes(ui.x === 'time' ? 'seconds' : ui.x, spec.yLabel),
    series: [
      { label: ui.x },
      ...list.map((s): uPlot.Series => ({
        // colour = run (from its id: the same in every panel), line style = variant; several metrics in one chart get the next colours
        label: labelOf(s, multiRun, perMetric),
        stroke: runColour(s.runId, perMetric ? 0 : [...new Set(list.map((x) => x.name))].indexOf(s.name)),
        dash: RUN_DASHES[variants.indexOf(s.qualifier ?? '') % RUN_DASHES.length],
        width: 1.5,
        spanGaps: true,
        points: { show: s.xs.length < 40 },
        show: !ui.hidden.includes(s.key),
        value: (_u, v, _si, idx) => fmt(idx === null || idx === undefined || v === null || v === undefined ? lastOf(s) : v),
      })),
    ],
    legend: { live: true },
    hooks: {
      setSeries: [
        (u, i) => {
          if (i === null || i === undefined) return;
          const key = list[i - 1]?.key;
          if (!key) return;
          const hidden = new Set(ui.hidden);
          if (u.series[i].show) hidden.delete(key);
          else hidden.add(key);
          ui.hidden = [...hidden];
          persist();
        },
      ],
    },
  };
  const box = h('div', { class: 'chart', 'data-chart': spec.id, 'data-group': list[0]?.group ?? '' });
  const plot = new uPlot(opts, dataFor(list), box);
  return { id: spec.id, keys: list.map((s) => s.key), plot, box, list };
}

function rebuildCharts(): void {
  for (const c of charts.values()) c.plot.destroy();
  charts.clear();
  chartsEl.replaceChildren();
  schedule();
}

const schedule = perFrame(() => render());

/** Draws everything received so far (at most once per frame). */
function render(): void {
  let points = 0;
  const specs = chartSpecs();
  for (const [id, c] of charts)
    if (!specs.some((sp) => sp.id === id)) {
      c.plot.destroy();
      c.box.remove();
      charts.delete(id);
    }
  let prev: HTMLElement | null = null;
  for (const spec of specs) {
    let c = charts.get(spec.id);
    const keys = spec.list.map((s) => s.key);
    if (!c || c.keys.join('\n') !== keys.join('\n')) {
      c?.plot.destroy();
      c?.box.remove();
      c = makeChart(spec);
      charts.set(spec.id, c);
    } else {
      c.plot.setData(dataFor(spec.list));
    }
    // keep the charts in spec order
    const want: ChildNode | null = prev ? prev.nextSibling : chartsEl.firstChild;
    if (want !== c.box) chartsEl.insertBefore(c.box, want);
    prev = c.box;
    for (const s of spec.list) points += s.xs.length;
  }
  const nRuns = new Set([...store.series.values()].map((s) => s.runId)).size;
  status.textContent = `${store.received} metric events · ${store.series.size} series · ${nRuns} run${nRuns === 1 ? '' : 's'} · ${charts.size} chart${charts.size === 1 ? '' : 's'}`;
  document.body.dataset.points = String(points);
  document.body.dataset.received = String(store.received);
  markRendered();
}

new ResizeObserver(() => {
  for (const c of charts.values()) c.plot.setSize({ width: width(), height: ui.layout === 'metric' ? 200 : 240 });
}).observe(chartsEl);
onThemeChange(rebuildCharts); // canvas colours are read from the theme when a chart is made

const take = collector(runs, { metric: (e) => store.add(e) }, schedule);

startView<LossViewState>('loss', {
  onInit(state) {
    store.clear();
    runs.reset(state.runs);
    for (const r of state.runs) store.runIndex(r.runId);
    take(state.metrics);
    rebuildCharts();
  },
  onEvents: take,
});

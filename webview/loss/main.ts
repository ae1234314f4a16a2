/**
 * Live loss curves: every `metric` event of the selected runs, one chart per kind of
 * metric (loss terms, learning rate, validation metrics, other), runs overlaid (dash pattern per run,
 * colour per metric), log scale, EMA smoothing. Events are stored as they arrive and drawn at most once
 * per animation frame, so a fast stream (20+ events/s) is batched and nothing is dropped.
 */
import 'uplot/dist/uPlot.min.css';
import './loss.css';
import type { MetricEvent } from '../../core/experiment/events';
import type { LossViewState, RunRef } from '../contract';
import { ema, palette, RUN_DASHES, themedAxes, uPlot } from '../common/charts';
import { h, onThemeChange } from '../common/dom';
import { loadUiState, saveUiState, startView, type Increment } from '../common/host';
import { checkbox, registerToolkit } from '../toolkit';
import { GROUPS, SeriesStore, type Group, type Series } from './series';

interface UiState {
  log: boolean;
  smoothing: number;
  hidden: string[];
}

registerToolkit();
const app = document.getElementById('app')!;
const saved = loadUiState<UiState>();
const ui: UiState = { log: saved.log ?? false, smoothing: saved.smoothing ?? 0, hidden: saved.hidden ?? [] };
const store = new SeriesStore();
const runs = new Map<string, RunRef>();

const smoothing = h('input', { type: 'range', id: 'smoothing', min: '0', max: '0.99', step: '0.01', value: String(ui.smoothing), 'aria-label': 'smoothing' });
const smoothingLabel = h('span', { id: 'smoothing-value', class: 'muted' }, ui.smoothing.toFixed(2));
const logBox = checkbox('log scale', ui.log, (v) => { ui.log = v; persist(); rebuildCharts(); }, 'log-scale');
const status = h('div', { id: 'status', class: 'status muted' }, 'waiting for metrics…');
const chartsEl = h('div', { id: 'charts' });
app.append(
  h('header', { class: 'toolbar' }, h('h2', { class: 'view-title' }, 'Loss curves'), logBox,
    h('label', { class: 'slider' }, 'smoothing ', smoothing, smoothingLabel)),
  chartsEl, status,
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

interface Chart { group: Group; keys: string[]; plot: uPlot; box: HTMLElement }
const charts = new Map<Group, Chart>();

function runName(runId: string): string {
  return runs.get(runId)?.name ?? runId;
}

function labelOf(s: Series, multiRun: boolean): string {
  const name = s.name + (s.qualifier ? ` (${s.qualifier})` : '');
  return multiRun ? `${runName(s.runId)} · ${name}` : name;
}

function seriesFor(group: Group): Series[] {
  return store.inGroup(group).sort((a, b) => store.runIndex(a.runId) - store.runIndex(b.runId) || a.name.localeCompare(b.name));
}

function dataFor(list: Series[]): uPlot.AlignedData {
  const tables = list.map((s) => {
    let ys: (number | null)[] = ema(s.ys, ui.smoothing);
    if (ui.log) ys = ys.map((y) => (y !== null && y > 0 ? y : null));
    return [s.xs, ys] as uPlot.AlignedData;
  });
  return tables.length === 1 ? tables[0] : uPlot.join(tables);
}

function width(): number {
  return Math.max(300, (chartsEl.clientWidth || 800) - 8);
}

function makeChart(group: Group, list: Series[]): Chart {
  const meta = GROUPS.find((g) => g.id === group)!;
  const colours = palette();
  const names = [...new Set(list.map((s) => s.name + (s.qualifier ?? '')))];
  const multiRun = new Set(list.map((s) => s.runId)).size > 1 || runs.size > 1;
  const opts: uPlot.Options = {
    title: meta.title,
    width: width(),
    height: 240,
    scales: { x: { time: false }, y: { distr: ui.log ? 3 : 1 } },
    axes: themedAxes('step', meta.yLabel),
    series: [
      { label: 'step' },
      ...list.map((s): uPlot.Series => ({
        label: labelOf(s, multiRun),
        stroke: colours[names.indexOf(s.name + (s.qualifier ?? '')) % colours.length],
        dash: RUN_DASHES[store.runIndex(s.runId) % RUN_DASHES.length],
        width: 1.5,
        spanGaps: true,
        points: { show: s.xs.length < 40 },
        show: !ui.hidden.includes(s.key),
      })),
    ],
    legend: { live: true },
    hooks: {
      setSeries: [(u, i) => {
        if (i === null || i === undefined) return;
        const key = list[i - 1]?.key;
        if (!key) return;
        const hidden = new Set(ui.hidden);
        if (u.series[i].show) hidden.delete(key); else hidden.add(key);
        ui.hidden = [...hidden];
        persist();
      }],
    },
  };
  const box = h('div', { class: 'chart', 'data-group': group });
  const plot = new uPlot(opts, dataFor(list), box);
  return { group, keys: list.map((s) => s.key), plot, box };
}

function rebuildCharts(): void {
  for (const c of charts.values()) c.plot.destroy();
  charts.clear();
  chartsEl.replaceChildren();
  schedule();
}

let queued = false;
function schedule(): void {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => { queued = false; render(); });
}

/** Draws everything received so far (at most once per frame). */
function render(): void {
  let points = 0;
  for (const g of GROUPS) {
    const list = seriesFor(g.id);
    if (!list.length) continue;
    let c = charts.get(g.id);
    const keys = list.map((s) => s.key);
    if (!c || c.keys.join('\n') !== keys.join('\n')) {
      c?.plot.destroy();
      c?.box.remove();
      c = makeChart(g.id, list);
      charts.set(g.id, c);
      // keep the GROUPS order in the DOM
      const after = GROUPS.slice(GROUPS.findIndex((x) => x.id === g.id) + 1).map((x) => charts.get(x.id)?.box).find((b) => b?.isConnected);
      chartsEl.insertBefore(c.box, after ?? null);
    } else {
      c.plot.setData(dataFor(list));
    }
    for (const s of list) points += s.xs.length;
  }
  const nRuns = new Set([...store.series.values()].map((s) => s.runId)).size;
  status.textContent = `${store.received} metric events · ${store.series.size} series · ${nRuns} run${nRuns === 1 ? '' : 's'}`;
  document.body.dataset.points = String(points);
  document.body.dataset.received = String(store.received);
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered ?? 0) + 1);
}

new ResizeObserver(() => { for (const c of charts.values()) c.plot.setSize({ width: width(), height: 240 }); }).observe(chartsEl);
onThemeChange(rebuildCharts); // canvas colours are read from the theme when a chart is made

function take(events: Increment[]): void {
  let any = false;
  for (const e of events) {
    if (e.type === 'metric') { store.add(e as MetricEvent); any = true; }
    else if (e.type === 'run-started') {
      runs.set(e.runId, { runId: e.runId, name: e.name, kind: e.kind });
      any = true;
    }
  }
  if (any) schedule();
}

startView<LossViewState>('loss', {
  onInit(state) {
    store.clear();
    runs.clear();
    for (const r of state.runs) runs.set(r.runId, r);
    for (const r of state.runs) store.runIndex(r.runId);
    take(state.metrics);
    rebuildCharts();
  },
  onEvents: take,
});

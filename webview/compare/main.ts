/**
 * Run comparison: selected runs side by side in the papers' table layouts (Flower
 * Table 4 columns; AFL HR@1 per round and ablations; user-simulation P/R/F1) with the papers' numbers as
 * reference rows, export to CSV / Markdown (sent to the host to save) and copy, and a sweep plot (one
 * chart per metric against the swept value) when the host sends sweep data.
 */
import 'uplot/dist/uPlot.min.css';
import './compare.css';
import type { CompareRun, CompareViewState, RepeatData, SweepData } from '../contract';
import { palette, themedAxes, uPlot } from '../common/charts';
import { h, onThemeChange } from '../common/dom';
import { dispatch, loadUiState, markRendered, post, saveUiState, startView, uiSetter, type Increment } from '../common/host';
import { button, dropdown, registerToolkit } from '../toolkit';
import { allTables, cellText, leftOut, toCsv, toMarkdown, type PaperRows, type Table } from './tables';
import { sweepSeries } from './sweepSeries';

interface UiState {
  paper: PaperRows;
}

registerToolkit();
const app = document.getElementById('app')!;
const saved = loadUiState<UiState>();
const ui: UiState = { paper: saved.paper ?? 'matching' };
let runs: CompareRun[] = [];
let sweep: SweepData | undefined;
let repeats: RepeatData[] = [];
let tables: Table[] = [];
const plots: uPlot[] = [];

const set = uiSetter(ui, () => {
  saveUiState(ui);
  render();
});
const PAPER_ROWS: Record<PaperRows, string> = {
  matching: 'paper rows: matching methods',
  all: 'paper rows: all',
  none: 'paper rows: none',
};
const paperSel = dropdown(PAPER_ROWS, ui.paper, set('paper'), 'paper-rows');
const exportCsv = button(
  'Export CSV',
  () => post({ type: 'export', view: 'compare', format: 'csv', text: toCsv(tables), suggestedName: 'flowloop-compare.csv' }),
  { id: 'export-csv' },
);
const exportMd = button(
  'Export Markdown',
  () => post({ type: 'export', view: 'compare', format: 'markdown', text: toMarkdown(tables), suggestedName: 'flowloop-compare.md' }),
  { appearance: 'secondary', id: 'export-md' },
);
const copyMd = button('Copy Markdown', () => copy(toMarkdown(tables)), { appearance: 'secondary', id: 'copy-md' });
const tablesEl = h('div', { id: 'tables' });
const sweepEl = h('div', { id: 'sweep' });
const status = h('div', { id: 'status', class: 'status muted' }, 'waiting for runs…');
app.append(
  h('header', { class: 'toolbar' }, h('h2', { class: 'view-title' }, 'Compare runs'), paperSel, exportCsv, exportMd, copyMd),
  tablesEl,
  sweepEl,
  status,
);

/** Copy: the host writes the clipboard (vscode.env.clipboard); the webview's own clipboard is tried too. */
function copy(text: string): void {
  post({ type: 'copy', view: 'compare', text });
  void navigator.clipboard?.writeText(text).catch(() => undefined);
}

function tableEl(t: Table): HTMLElement {
  return h(
    'section',
    { class: 'table', 'data-table': t.id },
    h('h3', {}, t.title),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', { class: 'run' }, 'run'), ...t.columns.map((c) => h('th', {}, c)))),
      h(
        'tbody',
        {},
        ...t.rows.map((r) => {
          // a degraded run's numbers are shown, marked, with the reason on hover
          const run = r.reference ? undefined : runs.find((x) => x.runId === r.runId);
          const degraded = run?.status === 'degraded';
          return h(
            'tr',
            { class: `${r.reference ? 'reference' : 'run'}${degraded ? ' degraded' : ''}`, 'data-run': r.runId },
            h(
              'td',
              {
                class: 'run',
                title: r.reference
                  ? (r.note ?? 'number reported in the paper (docs/methods.md)')
                  : degraded
                    ? `degraded: ${run.degraded?.join('; ') ?? 'see the run page'}`
                    : r.runId,
              },
              degraded ? `⚠ ${r.label}` : r.label,
            ),
            ...r.cells.map((v, i) => h('td', { class: 'num' }, cellText(v, r.spread?.[i]))),
          );
        }),
      ),
    ),
  );
}

function drawSweep(): void {
  for (const p of plots.splice(0)) p.destroy();
  sweepEl.replaceChildren();
  if (!sweep || sweep.points.length < 2) return;
  const series = sweepSeries(sweep);
  if (!series.length) return;
  const colours = palette();
  sweepEl.append(h('h3', {}, `Sweep over ${sweep.parameter} (${sweep.points.length} points; mean over repeats)`));
  const grid = h('div', { class: 'sweep-grid' });
  sweepEl.append(grid);
  const w = Math.max(260, Math.floor(((tablesEl.clientWidth || 900) - 24) / 2));
  series.forEach((s, i) => {
    const box = h('div', { class: 'sweep-chart', 'data-metric': s.metric });
    grid.append(box);
    const axes = themedAxes(sweep!.parameter, ''); // the chart title names the metric
    if (s.labels) axes[0] = { ...axes[0], values: (_u, splits) => splits.map((v) => s.labels![v] ?? '') };
    plots.push(
      new uPlot(
        {
          title: s.metric,
          width: w,
          height: 200,
          legend: { show: false },
          scales: { x: { time: false } },
          axes,
          series: [
            { label: sweep!.parameter },
            { label: s.metric, stroke: colours[i % colours.length], width: 2, points: { show: true, size: 6 } },
          ],
        },
        [s.xs, s.ys],
        box,
      ),
    );
  });
}

function render(): void {
  tables = allTables(runs, ui.paper, repeats);
  tablesEl.replaceChildren(...tables.map(tableEl));
  if (!runs.length) tablesEl.append(h('p', { class: 'muted' }, 'No runs selected.'));
  const out = leftOut(runs, tables);
  if (out.length)
    tablesEl.append(
      h(
        'section',
        { class: 'left-out', id: 'left-out' },
        h('h3', {}, `Not in the tables (${out.length})`),
        h('ul', {}, ...out.map((o) => h('li', { 'data-run': o.runId }, `${o.name} — ${o.why}`))),
      ),
    );
  drawSweep();
  const finished = runs.filter((r) => Object.keys(r.metrics).length).length;
  status.textContent = `${runs.length} run${runs.length === 1 ? '' : 's'} (${finished} with metrics)${sweep ? ` · sweep over ${sweep.parameter}` : ''}`;
  markRendered();
}

function take(events: Increment[]): void {
  const run = (id: string) => runs.find((x) => x.runId === id);
  let any = false;
  dispatch(events, {
    'run-finished': (e) => {
      const r = run(e.runId);
      if (!r) return;
      r.metrics = e.metrics;
      r.status = e.degraded ? 'degraded' : 'finished';
      any = true;
    },
    'run-failed': (e) => {
      const r = run(e.runId);
      if (!r) return;
      r.status = 'failed';
      any = true;
    },
    // AFL's HR@1 per round (docs/methods.md §B6)
    metric: (e) => {
      const r = run(e.runId);
      if (!r || e.name !== 'afl/hr@1' || (e.series ?? 'afl') !== 'afl' || e.step < 1) return;
      r.roundHr = [...(r.roundHr ?? [])];
      r.roundHr[e.step - 1] = e.value;
      any = true;
    },
  });
  if (any) render();
}

onThemeChange(() => drawSweep()); // canvas colours are read from the theme when a chart is made

startView<CompareViewState>('compare', {
  onInit(state) {
    runs = state.runs.map((r) => ({ ...r }));
    sweep = state.sweep;
    repeats = state.repeats ?? [];
    render();
  },
  onEvents: take,
});

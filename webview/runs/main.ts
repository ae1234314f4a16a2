/**
 * Runs table: one row per run and per variant (webview/runs/model.ts), columns = config values that differ
 * + final metrics; click a header to sort, type in the filter (`lr>0.001`, `status=finished`, words);
 * tick rows and open them in Compare Runs or Loss Curves; sweep points are grouped under their sweep.
 * Sort, filter, selection and collapsed groups persist (setState).
 */
import './runs.css';
import type { RunsViewState, RunSummary } from '../contract';
import { fmt, h } from '../common/dom';
import { dispatch, loadUiState, markRendered, perFrame, post, saveUiState, startView, type Increment } from '../common/host';
import { runColour } from '../common/runColour';
import { button, registerToolkit, textField } from '../toolkit';
import { cell, columnsOf, filterRows, rowsOf, sortRows, withLiveEvent, type Column, type Row } from './model';

interface UiState {
  sort?: { id: string; dir: 1 | -1 };
  filter: string;
  selected: string[];
  collapsed: string[];
}

registerToolkit();
const app = document.getElementById('app')!;
const saved = loadUiState<UiState>();
const ui: UiState = {
  sort: saved.sort ?? { id: 'started', dir: -1 },
  filter: saved.filter ?? '',
  selected: saved.selected ?? [],
  collapsed: saved.collapsed ?? [],
};
let runs: RunSummary[] = [];

const persist = () => saveUiState(ui);
const filterField = textField('Filter: words, key=value, metric>0.1', ui.filter, {
  id: 'filter',
  size: 40,
  onInput: (v) => {
    ui.filter = v;
    persist();
    render();
  },
});
const selectedDirs = () => [
  ...new Set(
    rowsOf(runs)
      .filter((r) => ui.selected.includes(r.key))
      .map((r) => r.run.dir),
  ),
];
const compareBtn = button('Compare selected', () => post({ type: 'open', view: 'runs', target: 'compare', runDirs: selectedDirs() }), {
  id: 'compare-selected',
});
const plotBtn = button('Plot selected', () => post({ type: 'open', view: 'runs', target: 'loss', runDirs: selectedDirs() }), {
  appearance: 'secondary',
  id: 'plot-selected',
});
const tableEl = h('div', { class: 'table-wrap', id: 'runs' });
const status = h('div', { id: 'status', class: 'status-line muted' }, 'waiting for runs…');
app.append(h('header', { class: 'toolbar' }, h('h2', { class: 'view-title' }, 'Runs'), filterField, compareBtn, plotBtn), tableEl, status);

/** The run's colour (the same as its curves in Loss Curves: webview/common/runColour.ts). */
function swatch(runId: string): HTMLElement {
  const el = h('span', { class: 'run-colour', 'aria-hidden': 'true' });
  el.style.background = runColour(runId); // CSSOM, allowed by the webview's CSP (no inline style attribute)
  el.dataset.colour = el.style.background;
  return el;
}

function cellEl(r: Row, c: Column): HTMLElement {
  const v = cell(r, c);
  if (c.id === 'run') {
    const a = h('a', { class: 'open', title: `open the run page of ${r.run.runId}` }, r.run.name);
    a.addEventListener('click', (e) => {
      e.stopPropagation();
      post({ type: 'open', view: 'runs', target: 'run', runDirs: [r.run.dir] });
    });
    return h('td', { class: 'run' }, swatch(r.run.runId), a);
  }
  if (c.id === 'status') {
    const why = r.run.degraded?.join('; ') ?? r.run.error;
    return h('td', { class: `status ${r.run.status ?? ''}`, title: why }, `${r.run.status === 'degraded' ? '⚠ ' : ''}${String(v ?? '')}`);
  }
  if (c.id === 'started') return h('td', { class: 'muted' }, String(v).replace('T', ' ').slice(0, 19));
  if (c.id === 'progress' || c.id === 'latest') return h('td', { class: `live ${c.id}` }, v === undefined ? '' : String(v));
  if (typeof v === 'number') return h('td', { class: 'num' }, fmt(v));
  return h('td', {}, v === undefined ? '–' : String(v));
}

function rowEl(r: Row, cols: Column[], inGroup: boolean): HTMLElement {
  const sel = ui.selected.includes(r.key);
  const box = h('input', { type: 'checkbox', 'aria-label': `select ${r.key}` }) as HTMLInputElement;
  box.checked = sel;
  const tr = h(
    'tr',
    { class: `row${sel ? ' selected' : ''}${inGroup ? ' in-group' : ''}`, 'data-key': r.key, 'data-run': r.run.runId },
    h('td', {}, box),
    ...cols.map((c) => cellEl(r, c)),
  );
  const toggle = () => {
    ui.selected = ui.selected.includes(r.key) ? ui.selected.filter((k) => k !== r.key) : [...ui.selected, r.key];
    persist();
    render();
  };
  box.addEventListener('click', (e) => {
    e.stopPropagation();
    toggle();
  });
  tr.addEventListener('click', toggle);
  return tr;
}

function render(): void {
  const all = rowsOf(runs);
  const cols = columnsOf(all);
  const sortCol = cols.find((c) => c.id === ui.sort?.id) ?? cols[4];
  const rows = sortRows(filterRows(all, ui.filter, cols), sortCol, ui.sort?.dir ?? -1);
  const head = h(
    'tr',
    {},
    h('th', {}, ''),
    ...cols.map((c) => {
      const th = h(
        'th',
        {
          class: `${c.type}${c.id === sortCol.id ? (ui.sort?.dir === 1 ? ' sorted-asc' : ' sorted-desc') : ''}`,
          'data-col': c.id,
          title: c.type === 'config' ? 'config value (differs between runs)' : c.type === 'metric' ? 'final metric' : '',
        },
        c.label,
      );
      th.addEventListener('click', () => {
        ui.sort = { id: c.id, dir: ui.sort?.id === c.id ? (ui.sort.dir === 1 ? -1 : 1) : -1 };
        persist();
        render();
      });
      return th;
    }),
  );
  const body: HTMLElement[] = [];
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    if (r.run.sweep) {
      const g = groups.get(r.run.sweep.id);
      if (g) {
        g.push(r);
        continue;
      }
      groups.set(r.run.sweep.id, [r]);
      body.push(h('tr', { 'data-sweep': r.run.sweep.id })); // placeholder: the group goes where its first row sorts
    } else body.push(rowEl(r, cols, false));
  }
  for (const [id, g] of groups) {
    const at = body.findIndex((el) => el.getAttribute('data-sweep') === id);
    const collapsed = ui.collapsed.includes(id);
    const header = h(
      'tr',
      { class: 'group', 'data-sweep': id },
      h(
        'td',
        { colspan: String(cols.length + 1) },
        `${collapsed ? '▸' : '▾'} sweep ${g[0].run.sweep!.name} — ${new Set(g.map((r) => r.run.runId)).size} points`,
      ),
    );
    header.addEventListener('click', () => {
      ui.collapsed = collapsed ? ui.collapsed.filter((x) => x !== id) : [...ui.collapsed, id];
      persist();
      render();
    });
    body.splice(at, 1, header, ...(collapsed ? [] : g.map((r) => rowEl(r, cols, true))));
  }
  tableEl.replaceChildren(h('table', {}, h('thead', {}, head), h('tbody', {}, ...body)));
  const nSel = selectedDirs().length;
  status.textContent = `${rows.length} of ${all.length} rows (${runs.length} runs)${nSel ? ` · ${nSel} selected` : ''}`;
  markRendered();
}

const scheduleRender = perFrame(() => render());

/** A running run's live cells follow its progress and metric events (withLiveEvent). */
function follow(e: Extract<Increment, { type: 'progress' | 'metric' }>): void {
  const r = runs.find((x) => x.runId === e.runId);
  if (r?.status === 'running') r.live = withLiveEvent(r.live, e);
}

startView<RunsViewState>('runs', {
  onInit(state) {
    runs = state.runs;
    render();
  },
  // a running run's row follows its progress and metric events; starts, ends and new runs come as a fresh init
  onEvents(events) {
    if (dispatch(events, { progress: follow, metric: follow })) scheduleRender();
  },
});

/**
 * Run page (Open Run): status and warnings (degraded reasons, the error), the config diff against the
 * previous run of the same config, final metrics, artifacts (SVG plots inline: the demo's distribution.svg,
 * plots/*.svg; other files open in the editor), and links to the views that apply (the others say why).
 */
import './run.css';
import type { RunPageState } from '../contract';
import { runColour } from '../common/runColour';
import { fmt, h } from '../common/dom';
import { markRendered, post, startView } from '../common/host';
import { button, registerToolkit } from '../toolkit';

registerToolkit();
const app = document.getElementById('app')!;
const VIEW_LABEL: Record<string, string> = { loss: 'Loss Curves', trie: 'Trie Flow', transcripts: 'Transcripts', compare: 'Compare Runs' };

function duration(ms?: number): string {
  if (ms === undefined) return '';
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function render(s: RunPageState): void {
  const r = s.run;
  if (!r) {
    app.replaceChildren(h('p', { class: 'muted' }, 'not a run folder (no run.json)'));
    return;
  }
  const parts: HTMLElement[] = [];
  const colour = h('span', { class: 'run-colour', id: 'run-colour', title: 'this run’s colour in Loss Curves and the runs table' });
  colour.style.background = runColour(r.runId); // CSSOM: allowed by the webview's CSP
  parts.push(h('h2', { id: 'title' }, h('span', { class: `status ${r.status}`, id: 'run-status' }, r.status ?? '?'), colour, `${r.name}`));
  parts.push(
    h(
      'div',
      { class: 'muted' },
      `${r.kind}${r.method ? ` · ${r.method}` : ''}${r.dataset ? ` · ${r.dataset}` : ''} · ${r.runId} · seed ${r.seed} · ${r.startedAt.replace('T', ' ').slice(0, 19)}${r.durationMs !== undefined ? ` · ${duration(r.durationMs)}` : ''}${r.backend ? ` · ${r.backend}` : ''}`,
    ),
  );
  for (const w of r.degraded ?? []) parts.push(h('div', { class: 'warning', 'data-warning': '' }, `⚠ degraded: ${w}`));
  if (r.error)
    parts.push(
      h(
        'div',
        { class: r.status === 'cancelled' ? 'warning' : 'error', id: 'run-error' },
        `${r.status === 'cancelled' ? 'cancelled' : 'error'}${r.where ? ` at ${r.where}` : ''}: ${r.error}`,
      ),
    );
  const links = h('div', { class: 'links', id: 'links' });
  for (const v of s.views) {
    const b = button(VIEW_LABEL[v.view] ?? v.view, () => post({ type: 'open', view: 'run', target: v.view, runDirs: [r.dir] }), {
      appearance: 'secondary',
      id: `open-${v.view}`,
      title: v.why,
    });
    if (!v.applies) b.setAttribute('disabled', '');
    links.append(b);
  }
  parts.push(links);
  const metrics = Object.entries(r.metrics);
  const metricsEl = h(
    'section',
    { id: 'metrics' },
    h('h3', {}, `Final metrics${r.keyMetric ? ` (headline: ${r.keyMetric.name} ${fmt(r.keyMetric.value)})` : ''}`),
    metrics.length
      ? h('table', {}, h('tbody', {}, ...metrics.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', { class: 'num' }, fmt(v))))))
      : h('p', { class: 'muted' }, 'no metrics.json yet'),
  );
  const diffEl = h(
    'section',
    { id: 'config-diff' },
    h('h3', {}, s.previous ? `Config vs the previous run of this config (${s.previous.runId})` : 'Config vs the previous run'),
    !s.previous
      ? h('p', { class: 'muted' }, 'first run of this config')
      : !s.configDiff.length
        ? h('p', { class: 'muted' }, 'same config')
        : h(
            'table',
            {},
            h('thead', {}, h('tr', {}, h('th', {}, 'key'), h('th', {}, 'before'), h('th', {}, 'now'))),
            h(
              'tbody',
              {},
              ...s.configDiff.map((d) =>
                h(
                  'tr',
                  {},
                  h('td', {}, d.key),
                  h('td', { class: 'before' }, d.before ?? '(absent)'),
                  h('td', { class: 'after' }, d.after ?? '(absent)'),
                ),
              ),
            ),
          ),
  );
  parts.push(h('div', { class: 'columns' }, metricsEl, diffEl));
  const svgs = s.artifacts.filter((a) => a.svg);
  if (svgs.length) {
    parts.push(h('h3', {}, `Plots (${svgs.length})`));
    parts.push(
      h(
        'div',
        { class: 'plots', id: 'plots' },
        ...svgs.map((a) =>
          h(
            'figure',
            { 'data-path': a.path },
            h('img', { src: `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(a.svg!)))}`, alt: a.path }),
            h('figcaption', {}, a.path),
          ),
        ),
      ),
    );
  }
  const files = s.artifacts.filter((a) => !a.svg);
  parts.push(h('h3', {}, `Files (${s.artifacts.length})`));
  parts.push(
    h(
      'ul',
      { id: 'files' },
      ...files.map((a) => {
        const link = h('a', { class: 'file' }, a.path);
        link.addEventListener('click', () => post({ type: 'openFile', view: 'run', path: `${r.dir}/${a.path}` }));
        return h(
          'li',
          {},
          link,
          h('span', { class: 'muted' }, ` ${a.bytes < 1024 ? `${a.bytes} B` : `${(a.bytes / 1024).toFixed(1)} KB`}`),
        );
      }),
    ),
  );
  app.replaceChildren(...parts);
  markRendered();
}

// rebuilt by init when the run changes: no increments
startView<RunPageState>('run', {
  onInit: render,
});

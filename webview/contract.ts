/**
 * The ONE host ↔ webview contract (docs/design.md "Contracts": one module, discriminated unions both ways,
 * a `ready` handshake, one full-state message, then small increments). Imported by the extension host
 * (Node) and by every webview bundle (browser): it must stay free of DOM and Node imports.
 *
 * Protocol, for every view:
 *  1. The host creates the panel with `renderHtml(view, ...)` (nonce CSP, local resources only).
 *  2. The webview script starts, restores its UI state (getState) and posts `{type:'ready', view, protocol}`.
 *  3. The host answers with ONE `{type:'init', state}` (the full state of that view, rebuilt from the run
 *     folders' events.jsonl / metrics.json). It may send `init` again at any time (reload, other runs
 *     selected): the view then replaces its data and keeps its UI state (zoom, filters, toggles).
 *  4. Then increments: `{type:'events', events}` relays RunEvents in the order the worker emitted them
 *     (batch them; one message per event also works; a trie-snapshot may be replaced by its
 *     `packTrieSnapshot` form, which clones ~50× faster). Each view takes the event types it shows and ignores
 *     the rest: trie ← trie-snapshot; loss ← metric, run-started; transcripts ← dialogue-turn, run-started;
 *     compare ← run-finished, metric (afl per-round HR@1), run-started. Events that arrive before `init`
 *     are queued by the view and applied after it; nothing is dropped.
 *  Webview → host: `ready`, `export` (CSV/Markdown text for the host to save), `copy` (text for the host
 *  to put on the clipboard with vscode.env.clipboard), `error` (a view-side failure, to be logged).
 */
import type { DialogueTurnEvent, MetricEvent, RunEvent, RunStatus, TrieSnapshotEvent } from '../core/experiment/events';

/** Bumped when a message shape changes incompatibly. */
export const PROTOCOL_VERSION = 1;

export type ViewName = 'trie' | 'loss' | 'transcripts' | 'compare' | 'runs' | 'run';
export const VIEW_NAMES: readonly ViewName[] = ['trie', 'loss', 'transcripts', 'compare', 'runs', 'run'];

/** Panel titles (the host may use them for createWebviewPanel). */
export const VIEW_TITLES: Record<ViewName, string> = {
  trie: 'Flowloop: Trie Flow',
  loss: 'Flowloop: Loss Curves',
  transcripts: 'Flowloop: Transcripts',
  compare: 'Flowloop: Compare Runs',
  runs: 'Flowloop: Runs Table',
  run: 'Flowloop: Run',
};

/** A run as the views name it (from run.json). */
export interface RunRef {
  runId: string;
  name: string;
  kind: string;
  status?: RunStatus;
  /** Dataset folder name, e.g. "CDs_and_Vinyl", "Video_Games", "Movies_and_TV", "lastfm". */
  dataset?: string;
  /** Method / variant, e.g. "flower", "sft", "bigrec", "temp", "d3", "ifairlrs", "sasrec", "afl", "rec-agent". */
  method?: string;
  /** Why the run is degraded (run.json `degraded`), when it is. */
  degraded?: string[];
}

// ---------------------------------------------------------------- full states (host → webview, once)

/**
 * A `trie-snapshot` event in columns, for postMessage: typed arrays are cloned as one copy each, while
 * ~30k node objects take ~0.1–0.5 s to clone (measured in Chromium; VS Code's webview.postMessage clones
 * the same way and transfers typed arrays efficiently). Build it with `packTrieSnapshot`.
 */
export interface PackedTrieSnapshot {
  type: 'packed-trie-snapshot';
  runId: string;
  t: number;
  checkpoint: string;
  step: number;
  dataset: string;
  tokenizer: string;
  totalNodes: number;
  id: Int32Array;
  parent: Int32Array;
  token: Int32Array;
  flow: Float64Array;
  rp: Float64Array;
  /** NaN where not measured; absent when no node was measured. */
  policy?: Float64Array;
  terminal: Uint8Array;
  /** JSON of { text: string[], title: (string | null)[] } (one string clones in one piece). */
  strings: string;
}

/** TrieSnapshotEvent → PackedTrieSnapshot (lossless: `unpackTrieSnapshot` gives the event back). */
export function packTrieSnapshot(e: TrieSnapshotEvent): PackedTrieSnapshot {
  const n = e.nodes.length;
  const p: PackedTrieSnapshot = {
    type: 'packed-trie-snapshot',
    runId: e.runId,
    t: e.t,
    checkpoint: e.checkpoint,
    step: e.step,
    dataset: e.dataset,
    tokenizer: e.tokenizer,
    totalNodes: e.totalNodes,
    id: new Int32Array(n),
    parent: new Int32Array(n),
    token: new Int32Array(n),
    flow: new Float64Array(n),
    rp: new Float64Array(n),
    terminal: new Uint8Array(n),
    strings: '',
  };
  const text: string[] = new Array(n);
  const title: (string | null)[] = new Array(n);
  let policy: Float64Array | undefined;
  e.nodes.forEach((x, i) => {
    p.id[i] = x.id;
    p.parent[i] = x.parent;
    p.token[i] = x.token;
    p.flow[i] = x.flow;
    p.rp[i] = x.rp;
    p.terminal[i] = x.terminal ? 1 : 0;
    text[i] = x.text;
    title[i] = x.title ?? null;
    if (typeof x.policy === 'number') (policy ??= new Float64Array(n).fill(NaN))[i] = x.policy;
  });
  if (policy) p.policy = policy;
  p.strings = JSON.stringify({ text, title });
  return p;
}

/** PackedTrieSnapshot → TrieSnapshotEvent. */
export function unpackTrieSnapshot(p: PackedTrieSnapshot): TrieSnapshotEvent {
  const { text, title } = JSON.parse(p.strings) as { text: string[]; title: (string | null)[] };
  return {
    type: 'trie-snapshot',
    runId: p.runId,
    t: p.t,
    checkpoint: p.checkpoint,
    step: p.step,
    dataset: p.dataset,
    tokenizer: p.tokenizer,
    totalNodes: p.totalNodes,
    nodes: Array.from(p.id, (id, i) => {
      const node: TrieSnapshotEvent['nodes'][number] = {
        id,
        parent: p.parent[i],
        token: p.token[i],
        text: text[i],
        flow: p.flow[i],
        rp: p.rp[i],
      };
      if (p.policy && !Number.isNaN(p.policy[i])) node.policy = p.policy[i];
      if (p.terminal[i]) node.terminal = true;
      if (title[i] !== null) node.title = title[i]!;
      return node;
    }),
  };
}

/**
 * Trie flow explorer: one snapshot per checkpoint (same dataset + tokenizer → stable node ids), as
 * events or packed (prefer `packTrieSnapshot` for large snapshots: ~30k nodes).
 */
export interface TrieViewState {
  view: 'trie';
  run?: RunRef;
  snapshots: (TrieSnapshotEvent | PackedTrieSnapshot)[];
}

/** Loss curves: every metric event of the selected runs so far (events.jsonl order). */
export interface LossViewState {
  view: 'loss';
  runs: RunRef[];
  metrics: MetricEvent[];
}

/** Transcripts: every dialogue-turn event of the selected runs so far. */
export interface TranscriptsViewState {
  view: 'transcripts';
  runs: RunRef[];
  turns: DialogueTurnEvent[];
}

/** One run in the comparison: its final metrics (metrics.json / run-finished) and AFL per-round HR@1. */
export interface CompareRun extends RunRef {
  /** Final metrics; nested objects are flattened as "a/b"; keys are matched case-insensitively. */
  metrics: Record<string, unknown>;
  /** AFL: HR@1 after round 1..N (index 0 = round 1), if the run reports it. */
  roundHr?: number[];
}

/** A sweep: one point per swept value (repeats allowed: averaged), each with its metrics. */
export interface SweepData {
  parameter: string;
  points: { value: number | string; runId?: string; metrics: Record<string, unknown> }[];
  /**
   * Metrics to plot, in order (the config's `sweep.metrics`; "." or "/" separated paths, e.g.
   * "recommendation.afl.hr"). Default: the headline metrics present, then others that vary (8 at most).
   */
  metrics?: string[];
}

export interface CompareViewState {
  view: 'compare';
  runs: CompareRun[];
  sweep?: SweepData;
  /** `flowloop baselines --repeat N` summaries (baselines-<name>.json beside the runs) that hold a compared run. */
  repeats?: RepeatData[];
}

/** A `--repeat` summary: per baseline row, mean ± std (sample, n − 1) over the seeds whose run finished. */
export interface RepeatData {
  /** The summary file (baselines-<name>.json). */
  file: string;
  name: string;
  kind: string;
  seeds: number[];
  /** The metrics compared for this kind (dotted metrics.json keys), those present in a row. */
  columns: string[];
  rows: { name: string; finished: number; runs: string[]; metrics: Record<string, { mean: number; std: number; n: number }> }[];
}

/** One run in the runs table / on the run page: run.json, its resolved config and final metrics (flattened). */
export interface RunSummary extends RunRef {
  dir: string;
  startedAt: string;
  durationMs?: number;
  error?: string;
  /** Why the run is degraded (run.json `degraded`). */
  degraded?: string[];
  /** The sweep a point run belongs to (its folder name and the sweep's name). */
  sweep?: { id: string; name: string; assignments: Record<string, unknown> };
  /** config.json flattened to dotted keys (arrays as JSON text). */
  config: Record<string, string | number | boolean>;
  /** metrics.json flattened to dotted numeric keys. */
  metrics: Record<string, number>;
  keyMetric?: { name: string; value: number };
  /** While the run runs: where it stands and its latest metric, from its progress and metric events (webview/runs/model.ts liveOf). */
  live?: RunLive;
}

/** A running run's progress ("Flower (2/2) · epoch 6/30 · 60% of the run") and its latest metric event. */
export interface RunLive {
  progress?: string;
  share?: number;
  metric?: { name: string; value: number; step: number };
}

/** Runs table: every run of the workspace (sweep points grouped under their sweep by the view). */
export interface RunsViewState {
  view: 'runs';
  runs: RunSummary[];
}

/** Run page (Open Run): status and warnings, config diff vs the previous run of the same config, metrics, artifacts. */
export interface RunPageState {
  view: 'run';
  run?: RunSummary & { configPath: string; seed: number; backend?: string; where?: string };
  /** The previous run of the same config file, if any, and the config values that changed since. */
  previous?: { runId: string; dir: string; startedAt: string };
  configDiff: { key: string; before?: string; after?: string }[];
  /** Files in the run folder; SVG plots inline (as text, shown through <img> data URLs: no script runs). */
  artifacts: { path: string; bytes: number; svg?: string }[];
  /** The views that apply to this run (others say why). */
  views: { view: ViewName; applies: boolean; why?: string }[];
}

export type ViewState = TrieViewState | LossViewState | TranscriptsViewState | CompareViewState | RunsViewState | RunPageState;

// ---------------------------------------------------------------- messages

export type HostToWebview =
  /** Full state (after `ready`, or whenever the host rebuilt it). */
  | { type: 'init'; state: ViewState }
  /** Increments: run events relayed in emission order (a trie-snapshot may be sent packed). */
  | { type: 'events'; events: (RunEvent | PackedTrieSnapshot)[] };

export type WebviewToHost =
  /** Handshake: the view's script runs and listens; the host answers with `init`. */
  | { type: 'ready'; view: ViewName; protocol: number }
  /** Export of a table: the host asks where to save `text` (default name `suggestedName`). */
  | { type: 'export'; view: ViewName; format: 'csv' | 'markdown'; text: string; suggestedName: string }
  /** Copy `text` to the clipboard (the host uses vscode.env.clipboard; webview clipboard access is unreliable). */
  | { type: 'copy'; view: ViewName; text: string }
  /** A failure inside the view (bad message, render error): the host logs it to the Output channel. */
  | { type: 'error'; view: ViewName; message: string; where?: string }
  /** Open another view on run folders (runs table selection → compare/plots; run page links). */
  | { type: 'open'; view: ViewName; target: ViewName; runDirs: string[] }
  /** Open a file of a run folder in the editor (run page artifacts). */
  | { type: 'openFile'; view: ViewName; path: string };

export type HostToWebviewType = HostToWebview['type'];
export type WebviewToHostType = WebviewToHost['type'];

/** Structural check of a message received by the webview (window 'message' events carry anything). */
export function isHostToWebview(m: unknown): m is HostToWebview {
  if (!m || typeof m !== 'object') return false;
  const o = m as { type?: unknown; state?: { view?: unknown }; events?: unknown };
  if (o.type === 'init') return !!o.state && VIEW_NAMES.includes(o.state.view as ViewName);
  if (o.type === 'events') return Array.isArray(o.events);
  return false;
}

/** Structural check of a message received by the host from a webview. */
export function isWebviewToHost(m: unknown): m is WebviewToHost {
  if (!m || typeof m !== 'object') return false;
  const o = m as Record<string, unknown>;
  const viewOk = VIEW_NAMES.includes(o.view as ViewName);
  switch (o.type) {
    case 'ready':
      return viewOk && typeof o.protocol === 'number';
    case 'export':
      return viewOk && (o.format === 'csv' || o.format === 'markdown') && typeof o.text === 'string' && typeof o.suggestedName === 'string';
    case 'copy':
      return viewOk && typeof o.text === 'string';
    case 'error':
      return viewOk && typeof o.message === 'string';
    case 'open':
      return (
        viewOk && VIEW_NAMES.includes(o.target as ViewName) && Array.isArray(o.runDirs) && o.runDirs.every((d) => typeof d === 'string')
      );
    case 'openFile':
      return viewOk && typeof o.path === 'string';
    default:
      return false;
  }
}

// ---------------------------------------------------------------- HTML shell

export interface RenderHtmlOptions {
  /** webview.asWebviewUri(dist/webview/<view>.js).toString() */
  scriptUri: string;
  /** webview.asWebviewUri(dist/webview/<view>.css).toString() */
  styleUri: string;
  /** Fresh per render (see makeNonce). */
  nonce: string;
  /** webview.cspSource */
  cspSource: string;
  /** Document title; defaults to VIEW_TITLES[view]. */
  title?: string;
}

/** A random nonce for the CSP (32 chars from [A-Za-z0-9]); uses Web Crypto (Node ≥ 20 and browsers). */
export function makeNonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  let s = '';
  for (const b of bytes) s += chars[b % chars.length];
  return s;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The HTML of a view's panel: a strict CSP (no network, scripts only with the nonce, styles and images
 * only from the extension's own resources), the view's stylesheet and script, and `#app` for the view
 * to fill. The script bundle is dist/webview/<view>.js and the stylesheet dist/webview/<view>.css.
 */
export function renderHtml(view: ViewName, o: RenderHtmlOptions): string {
  if (!VIEW_NAMES.includes(view)) throw new Error(`renderHtml: unknown view "${String(view)}"`);
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(o.nonce)) throw new Error('renderHtml: nonce must be ≥16 characters of [A-Za-z0-9+/=_-]');
  const nonce = o.nonce;
  const csp = [
    "default-src 'none'",
    `img-src ${o.cspSource} data:`,
    `style-src ${o.cspSource} 'nonce-${nonce}'`,
    `font-src ${o.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta property="csp-nonce" content="${nonce}">
<link rel="stylesheet" href="${escapeAttr(o.styleUri)}" nonce="${nonce}">
<title>${escapeAttr(o.title ?? VIEW_TITLES[view])}</title>
</head>
<body data-view="${view}">
<div id="app" data-view="${view}"></div>
<script nonce="${nonce}" src="${escapeAttr(o.scriptUri)}"></script>
</body>
</html>
`;
}

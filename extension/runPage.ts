/**
 * The runs table's and the run page's states (webview/contract.ts RunsViewState, RunPageState), read from
 * run folders: run.json, config.json, metrics.json and the folder's files. No vscode import: tested in Node.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { flattenMetrics, readMetrics, readRunInfo, withLiveness } from '../core/experiment/runStore';
import type { RunEvent } from '../core/experiment/events';
import type { RunPageState, RunSummary, RunsViewState, ViewName } from '../webview/contract';
import { liveOf } from '../webview/runs/model';
import { describeConfig, viewNotApplicable } from './runKind';

/** SVGs larger than this are listed, not inlined (a plot is tens of KB). */
const MAX_INLINE_SVG = 400_000;
/** Files listed on a run page at most (checkpoint folders can hold many). */
const MAX_FILES = 200;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- run files of any shape, read loosely
function readJson(p: string): any {
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A config object flattened to dotted keys; arrays and other leaves as JSON text. */
export function flattenConfig(
  c: unknown,
  prefix = '',
  out: Record<string, string | number | boolean> = {},
): Record<string, string | number | boolean> {
  if (c && typeof c === 'object' && !Array.isArray(c)) {
    for (const [k, v] of Object.entries(c)) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = typeof c === 'number' || typeof c === 'boolean' || typeof c === 'string' ? c : JSON.stringify(c);
  }
  return out;
}

/**
 * One run folder as the runs table and the run page see it (undefined: not a run folder). A running run
 * gets its live cells (progress, latest metric) from `events` (its events so far), when given.
 */
export function runSummary(dir: string, events?: () => RunEvent[]): RunSummary | undefined {
  const raw = readRunInfo(dir);
  if (!raw) return undefined;
  const info = withLiveness(raw);
  const config = readJson(join(dir, 'config.json'));
  let metrics: Record<string, number> = {};
  try {
    metrics = flattenMetrics(readMetrics(dir) ?? {});
  } catch {
    /* torn metrics.json: none yet */
  }
  const { dataset, method } = describeConfig(config);
  const sweepDir = info.sweep?.dir;
  const sweepName = sweepDir ? readJson(join(sweepDir, 'sweep.json'))?.name : undefined;
  return {
    runId: info.id,
    name: info.name,
    kind: info.kind,
    status: info.status,
    dataset,
    method,
    dir,
    startedAt: info.startedAt,
    durationMs: info.durationMs,
    error: info.error,
    degraded: info.degraded,
    keyMetric: info.keyMetric,
    sweep: sweepDir ? { id: basename(sweepDir), name: sweepName ?? basename(sweepDir), assignments: info.sweep!.assignments } : undefined,
    config: flattenConfig(config ?? {}),
    metrics,
    live: info.status === 'running' && events ? liveOf(events()) : undefined,
  };
}

/** The runs table over run folders (sweep folders contribute their point runs); `eventsOf` gives a run's events so far. */
export function buildRunsState(dirs: string[], eventsOf?: (dir: string) => RunEvent[]): RunsViewState {
  const runs: RunSummary[] = [];
  for (const d of dirs) {
    if (existsSync(join(d, 'sweep.json'))) {
      for (const p of readJson(join(d, 'sweep.json'))?.points ?? []) {
        const s = typeof p.runDir === 'string' ? runSummary(p.runDir) : undefined;
        if (s) runs.push(s);
      }
    } else {
      const s = runSummary(d, eventsOf && (() => eventsOf(d)));
      if (s) runs.push(s);
    }
  }
  return { view: 'runs', runs };
}

/** Files of a run folder (relative, sorted; plots first), at most MAX_FILES. */
function filesOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (out.length >= MAX_FILES) return;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.includes('.tmp-')) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  const rank = (f: string) => (f.endsWith('.svg') ? (f.startsWith('plots/') ? 1 : 0) : 2);
  return out.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/**
 * The run page: status and warnings, the config diff against the previous run of the same config file
 * (`siblings`: other run folders to look in, e.g. the workspace's runs), final metrics, artifacts (SVG
 * plots inline) and which views apply.
 */
export function buildRunPage(dir: string, siblings: string[] = []): RunPageState {
  const s = runSummary(dir);
  if (!s) return { view: 'run', configDiff: [], artifacts: [], views: [] };
  const info = readRunInfo(dir)!;
  const prev = siblings
    .filter((d) => d !== dir)
    .map((d) => ({ d, i: readRunInfo(d) }))
    .filter((x) => x.i && x.i.configPath === info.configPath && x.i.startedAt < info.startedAt)
    .sort((a, b) => (a.i!.startedAt < b.i!.startedAt ? 1 : -1))[0];
  const configDiff: RunPageState['configDiff'] = [];
  if (prev) {
    const before = flattenConfig(readJson(join(prev.d, 'config.json')) ?? {});
    for (const k of [...new Set([...Object.keys(before), ...Object.keys(s.config)])].sort()) {
      const a = before[k],
        b = s.config[k];
      if (String(a) !== String(b))
        configDiff.push({ key: k, before: a === undefined ? undefined : String(a), after: b === undefined ? undefined : String(b) });
    }
  }
  const artifacts = filesOf(dir).map((path) => {
    const abs = join(dir, path);
    const bytes = statSync(abs).size;
    return { path, bytes, svg: path.endsWith('.svg') && bytes <= MAX_INLINE_SVG ? readFileSync(abs, 'utf8') : undefined };
  });
  const views = (['loss', 'trie', 'transcripts', 'compare'] as ViewName[]).map((view) => {
    const why = viewNotApplicable(view, dir);
    return { view, applies: !why, why };
  });
  return {
    view: 'run',
    run: {
      ...s,
      configPath: info.configPath,
      seed: info.seed,
      backend: info.backend ? `${info.backend.name} (${info.backend.reason})` : undefined,
      where: info.where,
    },
    previous: prev ? { runId: prev.i!.id, dir: prev.d, startedAt: prev.i!.startedAt } : undefined,
    configDiff,
    artifacts,
    views,
  };
}

/** The run folders beside a run (its runs folder), for the previous-run lookup. */
export function siblingRuns(dir: string): string[] {
  const root = dirname(dir);
  try {
    return readdirSync(root)
      .map((n) => join(root, n))
      .filter((d) => existsSync(join(d, 'run.json')));
  } catch {
    return [];
  }
}

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { COMPARE_METRICS } from '../core/experiment/baselines';
import type { FlowloopConfig } from '../core/experiment/configTypes';
import type { RunEvent, RunInfo } from '../core/experiment/events';
import { readEvents, readMetrics, readRunInfo } from '../core/experiment/runStore';
import { buildRunPage, buildRunsState, siblingRuns } from './runPage';
import { describeConfig } from './runKind';

export { applicableViews, describeConfig, viewNotApplicable } from './runKind';
import {
  packTrieSnapshot,
  type CompareRun,
  type RepeatData,
  type RunRef,
  type SweepData,
  type ViewName,
  type ViewState,
} from '../webview/contract';

/**
 * Builds each view's full state (webview/contract.ts `init`) from run folders on disk: events.jsonl,
 * run.json, metrics.json, config.json. Pure file reading; no computation beyond picking events.
 */

/** The event types each view consumes (the contract's routing table); others are not relayed. */
export const VIEW_EVENTS: Record<ViewName, ReadonlySet<RunEvent['type']>> = {
  trie: new Set(['trie-snapshot', 'run-started', 'run-finished', 'run-failed', 'run-cancelled']),
  loss: new Set(['metric', 'run-started', 'run-finished', 'run-failed', 'run-cancelled']),
  transcripts: new Set(['dialogue-turn', 'run-started', 'run-finished', 'run-failed', 'run-cancelled']),
  compare: new Set(['run-finished', 'metric', 'run-started', 'run-failed', 'run-cancelled']),
  // the runs table: a running run's row follows its progress and metric events; rebuilt (init) when a run starts or ends
  runs: new Set(['progress', 'metric']),
  run: new Set([]),
};

function readConfig(runDir: string): Partial<FlowloopConfig> | undefined {
  try {
    const c = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
    return c && typeof c === 'object' && !Array.isArray(c) ? c : undefined;
  } catch {
    return undefined;
  }
}

export function runRef(runDir: string, info?: RunInfo): RunRef {
  const i = info ?? readRunInfo(runDir);
  const { dataset, method } = describeConfig(readConfig(runDir));
  return {
    runId: i?.id ?? basename(runDir),
    name: i?.name ?? basename(runDir),
    kind: i?.kind ?? 'unknown',
    status: i?.status,
    dataset,
    method,
    ...(i?.degraded ? { degraded: i.degraded } : {}),
  };
}

/** Flatten nested metric objects as "a/b" (contract: CompareRun.metrics). */
export function flattenMetrics(m: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(m)) {
    const key = prefix ? `${prefix}/${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flattenMetrics(v as Record<string, unknown>, key, out);
    else out[key] = v;
  }
  return out;
}

/** AFL HR@1 after each round, from `metric` events whose name ends in "hr@1" and that carry the round as step. */
function roundHr(events: RunEvent[]): number[] | undefined {
  const byRound = new Map<number, number>();
  for (const e of events)
    if (e.type === 'metric' && /(^|\/)hr@1$/i.test(e.name) && /afl|round/i.test(e.name + (e.series ?? ''))) byRound.set(e.step, e.value);
  if (!byRound.size) return undefined;
  return [...byRound.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

function sweepData(dir: string): SweepData | undefined {
  const p = join(dir, 'sweep.json');
  if (!existsSync(p)) return undefined;
  try {
    const s = JSON.parse(readFileSync(p, 'utf8'));
    const parameter = String(s.axes?.[0]?.path ?? s.parameter ?? s.parameters?.[0]?.path ?? 'value');
    const points = (Array.isArray(s.points) ? s.points : []).map(
      (pt: {
        runDir?: unknown;
        dir?: unknown;
        value?: unknown;
        assignments?: Record<string, unknown>;
        metrics?: Record<string, unknown>;
        runId?: string;
      }) => {
        const runDir = typeof pt.runDir === 'string' ? pt.runDir : typeof pt.dir === 'string' ? join(dir, pt.dir) : undefined;
        const value = pt.value ?? (pt.assignments ? Object.values(pt.assignments)[0] : undefined);
        const metrics = pt.metrics ?? (runDir ? readMetrics(runDir) : undefined) ?? {};
        return {
          value: typeof value === 'number' ? value : String(value),
          runId: runDir ? basename(runDir) : pt.runId,
          metrics: flattenMetrics(metrics),
        };
      },
    );
    return { parameter, points };
  } catch {
    return undefined;
  }
}

/**
 * The `flowloop baselines --repeat N` summaries (core/cli/baselines.ts: baselines-<name>.json beside the run
 * folders, per row mean/std/n per metric and the run folders) that list one of `runDirs`; columns = the
 * kind's compared metrics (core/experiment/baselines.ts COMPARE_METRICS) that a row has.
 */
export function repeatsOf(runDirs: string[]): RepeatData[] {
  const wanted = new Set(runDirs.map((d) => resolve(d)));
  const out: RepeatData[] = [];
  for (const parent of new Set(runDirs.map((d) => dirname(resolve(d))))) {
    let files: string[];
    try {
      files = readdirSync(parent).filter((f) => /^baselines-.+\.json$/.test(f));
    } catch {
      continue;
    }
    for (const f of files.sort()) {
      let j: { kind?: string; seeds?: number[]; rows?: RepeatData['rows'] } | undefined;
      try {
        j = JSON.parse(readFileSync(join(parent, f), 'utf8'));
      } catch {
        continue; // being written, or not a summary
      }
      const rows = Array.isArray(j?.rows) ? j.rows : [];
      if (!j?.kind || !rows.some((r) => Array.isArray(r.runs) && r.runs.some((d) => wanted.has(resolve(parent, d))))) continue;
      const columns = (COMPARE_METRICS[j.kind] ?? []).filter((k) => rows.some((r) => r.metrics?.[k]));
      out.push({ file: join(parent, f), name: f.replace(/^baselines-|\.json$/g, ''), kind: j.kind, seeds: j.seeds ?? [], columns, rows });
    }
  }
  return out;
}

/**
 * The full state of one view for the given run folders. `eventsOf` supplies each run's events (the
 * panel host passes what its tailer has read, so that init + increments are exactly the file, once).
 */
export function buildViewState(view: ViewName, runDirs: string[], eventsOf: (dir: string) => RunEvent[] = safeEvents): ViewState {
  const all = runDirs.map((dir) => ({ dir, info: readRunInfo(dir), events: eventsOf(dir) }));
  switch (view) {
    case 'trie': {
      const r = all[0];
      // packed (columnar typed arrays): ~30k-node snapshots clone ~50× faster through postMessage
      const snaps = r ? r.events.filter((e): e is Extract<RunEvent, { type: 'trie-snapshot' }> => e.type === 'trie-snapshot') : [];
      return { view, run: r ? runRef(r.dir, r.info) : undefined, snapshots: snaps.map(packTrieSnapshot) };
    }
    case 'loss':
      return {
        view,
        runs: all.map((r) => runRef(r.dir, r.info)),
        metrics: all.flatMap((r) => r.events.filter((e): e is Extract<RunEvent, { type: 'metric' }> => e.type === 'metric')),
      };
    case 'transcripts':
      return {
        view,
        runs: all.map((r) => runRef(r.dir, r.info)),
        turns: all.flatMap((r) => r.events.filter((e): e is Extract<RunEvent, { type: 'dialogue-turn' }> => e.type === 'dialogue-turn')),
      };
    case 'compare': {
      // a sweep contributes its points as runs (side by side) and its curve (sweep data)
      const sweepDir = all.find((r) => existsSync(join(r.dir, 'sweep.json')));
      const pointDirs = sweepDir
        ? (sweepData(sweepDir.dir)?.points ?? [])
            .map((p) => (p.runId ? join(sweepDir.dir, p.runId) : ''))
            .filter((d) => existsSync(join(d, 'run.json')))
        : [];
      const plain = [
        ...all.filter((r) => !existsSync(join(r.dir, 'sweep.json'))),
        ...pointDirs.map((dir) => ({ dir, info: readRunInfo(dir), events: eventsOf(dir) })),
      ];
      const runs: CompareRun[] = plain.map((r) => {
        const finished = [...r.events].reverse().find((e) => e.type === 'run-finished') as
          Extract<RunEvent, { type: 'run-finished' }> | undefined;
        const metrics = readMetricsSafe(r.dir) ?? finished?.metrics ?? {};
        return { ...runRef(r.dir, r.info), metrics: flattenMetrics(metrics), roundHr: roundHr(r.events) };
      });
      const repeats = repeatsOf(plain.map((r) => r.dir));
      return { view, runs, sweep: sweepDir ? sweepData(sweepDir.dir) : undefined, ...(repeats.length ? { repeats } : {}) };
    }
    case 'runs':
      return buildRunsState(runDirs, (d) => all.find((r) => r.dir === d)?.events ?? []);
    case 'run':
      return buildRunPage(runDirs[0] ?? '', runDirs[0] ? siblingRuns(runDirs[0]) : []);
  }
}

function readMetricsSafe(dir: string): Record<string, unknown> | undefined {
  try {
    return readMetrics(dir);
  } catch {
    return undefined;
  }
}

export function safeEvents(dir: string): RunEvent[] {
  try {
    return readEvents(dir);
  } catch {
    return [];
  }
}

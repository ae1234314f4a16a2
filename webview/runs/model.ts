/**
 * The runs table's rows and columns (pure, no DOM): one row per run and per variant of a run (a Flower
 * run's fitted objectives, docs/methods.md §A8; an AFL run's ablations, §B6), columns = the config values
 * that differ between the rows shown + the final metrics, sortable and filterable. Sweep points carry
 * their sweep so the view groups them under it.
 */
import type { RunEvent } from '../../core/experiment/events';
import { formatRunProgress } from '../../core/experiment/runProgress';
import { FLOWER_RESULT_METRICS } from '../../core/experiment/flowerMetrics';
import type { RunLive, RunSummary } from '../contract';

export interface Row {
  /** Unique per row: runId, or runId + "·" + variant. */
  key: string;
  run: RunSummary;
  /** "sft", "flower", an AFL ablation, … (undefined: the run as a whole). */
  variant?: string;
  /** Metric label → value, comparable across rows (variant prefixes removed). */
  metrics: Record<string, number>;
}

/** Metric labels in the order a person looks for them (headline first); others follow alphabetically. */
const ORDER = [
  'kl(target||gen)',
  'kl(gen||target)',
  'js',
  'coverage',
  ...FLOWER_RESULT_METRICS,
  'test/hr@10',
  'test/ndcg@10',
  'test/hr@20',
  'test/ndcg@20',
  'test/cand_hr@1',
  'base HR@1',
  'Rec Agent HR@1',
  'AFL HR@1',
];

/** Config keys never shown as columns (identity and prose, or shown elsewhere). */
const HIDDEN_CONFIG = new Set(['name', 'description', '$schema', 'kind']);

/** The Flower result metrics' labels → their keys in a run's metrics under `prefix` ("" or a decoding's "temp/"). */
const flowerKeys = (prefix: string) => Object.fromEntries(FLOWER_RESULT_METRICS.map((k) => [k, `${prefix}${k}`]));

function pick(m: Record<string, number>, keys: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [label, key] of Object.entries(keys)) if (typeof m[key] === 'number') out[label] = m[key];
  return out;
}

/**
 * A running run's live cells after one more of its events: a `progress` event gives where the run stands
 * (the runner's stamp, core/experiment/runProgress.ts, the wording of the status bar), a `metric` event the
 * latest value (its series, e.g. "train/total (flower)"). Other events leave it as it was.
 */
export function withLiveEvent(live: RunLive | undefined, e: RunEvent): RunLive | undefined {
  if (e.type === 'progress') {
    const progress = e.run ? formatRunProgress(e.run) : `${e.phase} ${e.done}/${e.total}`;
    return { ...live, progress, share: e.run?.share };
  }
  if (e.type === 'metric')
    return { ...live, metric: { name: e.series ? `${e.name} (${e.series})` : e.name, value: e.value, step: e.step } };
  return live;
}

/** The live cells of a run from its events so far (undefined: no progress or metric event yet). */
export function liveOf(events: Iterable<RunEvent>): RunLive | undefined {
  let live: RunLive | undefined;
  for (const e of events) live = withLiveEvent(live, e);
  return live;
}

/** The rows of one run: its variants when it has several, else the run itself with its headline metrics. */
export function rowsOfRun(run: RunSummary): Row[] {
  const m = run.metrics;
  if (run.kind === 'flower') {
    const objectives = [
      ...new Set(
        Object.keys(m)
          .map((k) => /^([^/.]+)\/kl\(target\|\|gen\)$/.exec(k)?.[1])
          .filter((x): x is string => !!x),
      ),
    ];
    if (objectives.length) {
      return objectives.map((o) => ({
        key: `${run.runId}·${o}`,
        run,
        variant: o,
        metrics: pick(m, {
          'kl(target||gen)': `${o}/kl(target||gen)`,
          'kl(gen||target)': `${o}/kl(gen||target)`,
          js: `${o}/js`,
          coverage: `${o}/coverage`,
        }),
      }));
    }
    const rows: Row[] = [
      {
        key: run.runId,
        run,
        metrics: pick(m, flowerKeys('')),
      },
    ];
    for (const d of ['temp', 'd3']) {
      if (typeof m[`${d}/ndcg@10`] === 'number')
        rows.push({
          key: `${run.runId}·${d}`,
          run,
          variant: d,
          metrics: pick(m, flowerKeys(`${d}/`)),
        });
    }
    return rows;
  }
  if (run.kind === 'afl') {
    const rows: Row[] = [
      {
        key: run.runId,
        run,
        metrics: pick(m, { 'base HR@1': 'base.hr', 'Rec Agent HR@1': 'recommendation.recAgent.hr', 'AFL HR@1': 'recommendation.afl.hr' }),
      },
    ];
    const ablations = [
      ...new Set(
        Object.keys(m)
          .map((k) => /^ablations\.(.+)\.afl\.hr$/.exec(k)?.[1])
          .filter((x): x is string => !!x),
      ),
    ];
    for (const a of ablations)
      rows.push({
        key: `${run.runId}·${a}`,
        run,
        variant: a,
        metrics: pick(m, { 'Rec Agent HR@1': `ablations.${a}.recAgent.hr`, 'AFL HR@1': `ablations.${a}.afl.hr` }),
      });
    return rows;
  }
  if (run.kind === 'sequential') {
    return [
      {
        key: run.runId,
        run,
        metrics: pick(m, {
          'test/hr@10': 'test/hr@10',
          'test/ndcg@10': 'test/ndcg@10',
          'test/hr@20': 'test/hr@20',
          'test/ndcg@20': 'test/ndcg@20',
          'test/cand_hr@1': 'test/cand_hr@1',
        }),
      },
    ];
  }
  return [{ key: run.runId, run, metrics: run.keyMetric ? { [run.keyMetric.name]: run.keyMetric.value } : {} }];
}

export function rowsOf(runs: RunSummary[]): Row[] {
  return runs.flatMap(rowsOfRun);
}

const fmtLive = (x: number) => (Math.abs(x) >= 1000 || x === Math.round(x) ? String(Math.round(x)) : Number(x.toPrecision(4)).toString());

const cfgText = (v: unknown) => (v === undefined ? '' : String(v));

/**
 * Config keys that tell the rows apart: set in at least two runs (a key of one kind only says nothing a
 * kind column does not) and not the same in all the runs that set it.
 */
export function differingConfig(rows: Row[]): string[] {
  const runs = [...new Map(rows.map((r) => [r.run.runId, r.run])).values()];
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.config)) if (!HIDDEN_CONFIG.has(k)) keys.add(k);
  return [...keys]
    .filter((k) => {
      const having = runs.filter((r) => r.config[k] !== undefined);
      return having.length >= 2 && new Set(having.map((r) => cfgText(r.config[k]))).size > 1;
    })
    .sort();
}

/** Metric labels present in at least one row, headline first. */
export function metricColumns(rows: Row[]): string[] {
  const present = new Set(rows.flatMap((r) => Object.keys(r.metrics)));
  const rank = (k: string) => {
    const i = ORDER.indexOf(k);
    return i < 0 ? ORDER.length : i;
  };
  return [...present].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export type Column = { id: string; label: string; type: 'text' | 'number' | 'config' | 'metric' };

/** The fixed columns (progress and latest metric while a shown run runs), then config values that differ, then metrics. */
export function columnsOf(rows: Row[]): Column[] {
  const live = rows.some((r) => r.run.status === 'running' && r.run.live);
  return [
    { id: 'run', label: 'run', type: 'text' },
    { id: 'variant', label: 'variant', type: 'text' },
    { id: 'kind', label: 'kind', type: 'text' },
    { id: 'status', label: 'status', type: 'text' },
    { id: 'started', label: 'started', type: 'text' },
    ...(live
      ? [{ id: 'progress', label: 'progress', type: 'text' } as Column, { id: 'latest', label: 'latest metric', type: 'text' } as Column]
      : []),
    ...differingConfig(rows).map((k): Column => ({ id: `config:${k}`, label: k, type: 'config' })),
    ...metricColumns(rows).map((k): Column => ({ id: `metric:${k}`, label: k, type: 'metric' })),
  ];
}

/** The value of a row in a column (numbers for metrics and numeric config values). */
export function cell(r: Row, c: Column): string | number | undefined {
  switch (c.id) {
    case 'run':
      return r.run.name;
    case 'variant':
      return r.variant ?? '';
    case 'kind':
      return r.run.kind;
    case 'status':
      return r.run.status ?? '';
    case 'started':
      return r.run.startedAt;
    case 'progress':
      return r.run.status === 'running' ? r.run.live?.progress : undefined;
    case 'latest': {
      const m = r.run.status === 'running' ? r.run.live?.metric : undefined;
      return m ? `${m.name} ${fmtLive(m.value)} (step ${m.step})` : undefined;
    }
  }
  if (c.type === 'metric') return r.metrics[c.id.slice(7)];
  const v = r.run.config[c.id.slice(7)];
  return typeof v === 'boolean' ? String(v) : v;
}

/** Sorted copy: numbers numerically, text by locale; empty cells last in either direction. */
export function sortRows(rows: Row[], c: Column, dir: 1 | -1): Row[] {
  return [...rows].sort((a, b) => {
    const x = cell(a, c),
      y = cell(b, c);
    const ex = x === undefined || x === '',
      ey = y === undefined || y === '';
    if (ex || ey) return ex === ey ? 0 : ex ? 1 : -1;
    return (
      dir * (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true }))
    );
  });
}

/**
 * Rows matching a filter: space-separated terms, all must match; `key=value` / `key>n` / `key<n` test a
 * column (config key or metric label), other terms match the run name, variant, kind, status or a config value.
 */
export function filterRows(rows: Row[], query: string, cols: Column[]): Row[] {
  const terms = query.trim().split(/\s+/).filter(Boolean);
  if (!terms.length) return rows;
  return rows.filter((r) =>
    terms.every((t) => {
      const m = /^([^=<>]+)(=|<|>)(.+)$/.exec(t);
      if (m) {
        const c = cols.find((x) => x.label === m[1] || x.id === m[1]);
        const v = c ? cell(r, c) : undefined;
        if (v === undefined) return false;
        if (m[2] === '=') return String(v) === m[3];
        const n = Number(m[3]);
        return typeof v === 'number' && (m[2] === '<' ? v < n : v > n);
      }
      const t0 = t.toLowerCase();
      return [r.run.name, r.variant ?? '', r.run.kind, r.run.status ?? '', ...Object.values(r.run.config).map(String)].some((s) =>
        s.toLowerCase().includes(t0),
      );
    }),
  );
}

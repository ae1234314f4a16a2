/**
 * "Run Baselines": each kind's baselines as `--set` overrides of the user's config, run one
 * after another as ordinary runs (each its own run folder). Shared by the extension's command and the
 * CLI's `flowloop baselines`; pure data and helpers (no vscode, no I/O except reading finished runs).
 * From docs/methods.md:
 *  - flower (A7, A8): BIGRec = SFT + constrained beam search; Temp = temperature 1.5 and D3 = length
 *    penalty 0 on that SFT model (one training, three decodings via `alsoDecode`); IFairLRS = SFT with
 *    per-sample popularity-group weights; Flower itself, initialised from that seed's SFT run (`init`), with
 *    its div personalization's SASRec (trained inside the Flower run unless the config names one) shown as
 *    the "sasrec" row.
 *  - afl (B): "Rec Agent" = one round (no user-agent feedback); the "Base" (prior alone) HR@1 is part of
 *    every AFL run's metrics (`base.hr`), so it shows in the comparison without a run of its own.
 *  - sequential: the three model families.
 * The override paths are the kinds' schema fields; a path a kind does not (yet) have fails with the
 * runner's located `--set` error — never silently skipped.
 */
import { flattenMetrics, readMetrics, readRunInfo } from './runStore';
import type { RunStatus } from './events';
import { FLOWER_RESULT_METRICS } from './flowerMetrics';
import { fmt, formatTable } from '../util/table';

export interface Baseline {
  name: string;
  description: string;
  set: string[];
  /** Further result rows inside the same run: metrics named `<prefix>/<metric>` (flower's extra decodings). */
  extraRows?: { name: string; prefix: string }[];
  /** Start from the weights of this earlier baseline's run of the same seed: `init=<its run folder>` is added. */
  initFrom?: string;
}

export const BASELINES: Record<string, Baseline[]> = {
  flower: [
    {
      name: 'sft',
      description:
        'BIGRec = SFT + constrained beam search, plus the Temp (temperature 1.5) and D3 (length penalty 0) decodings of the same SFT model (docs/methods.md §A7, A8)',
      set: ['objective=sft', 'alsoDecode=[{"name":"temp","temperature":1.5},{"name":"d3","lengthPenalty":0}]'],
      extraRows: [
        { name: 'sft temp', prefix: 'temp' },
        { name: 'sft d3', prefix: 'd3' },
      ],
    },
    {
      name: 'ifairlrs',
      description: 'IFairLRS: SFT with per-sample popularity-group weights (docs/methods.md §A8)',
      set: ['objective=ifairlrs'],
    },
    {
      name: 'flower',
      description:
        "Flower (docs/methods.md §A4, A5) initialised from this seed's sft run, div personalization; its SASRec (trained in the run unless personalization.scorer names one) is the sasrec row",
      set: ['objective=flower'],
      initFrom: 'sft',
      extraRows: [{ name: 'sasrec', prefix: 'sasrec' }],
    },
  ],
  afl: [
    {
      name: 'rec-agent',
      description: 'Rec Agent alone: one round, no user-agent feedback (docs/methods.md §B2, §B6)',
      set: ['maxRounds=1'],
    },
  ],
  sequential: [
    { name: 'sasrec', description: 'SASRec (docs/methods.md §A8)', set: ['model=sasrec'] },
    { name: 'gru4rec', description: 'GRU4Rec', set: ['model=gru4rec'] },
    { name: 'caser', description: 'Caser', set: ['model=caser'] },
  ],
};

/** The metrics (dotted keys of metrics.json) a baseline comparison shows per kind, when a run has them. */
export const COMPARE_METRICS: Record<string, string[]> = {
  flower: [
    ...FLOWER_RESULT_METRICS,
    'distinct',
    'kl(target||gen)',
    'js',
    'mechanism.sampled.dgu',
    'mechanism.sampled.mgu',
    'mechanism.sampled.distinct',
    'mechanism.sampled.onTreeMass',
    'mechanism.oracle.ndcg@10',
    'mechanism.oracle.dgu',
    'mechanism.oracle.mgu',
    'mechanism.oracle.jaccard@10',
    'mechanism.jaccard@10',
  ],
  afl: ['recommendation.afl.hr', 'base.hr'],
  sequential: ['test/hr@1', 'test/ndcg@10', 'test/hr@10', 'test/ndcg@20', 'test/cand_hr@1'],
};

export function baselinesFor(kind: string | undefined): Baseline[] {
  return BASELINES[kind ?? ''] ?? [];
}

/** The overrides of one baseline run: the user's own first, the baseline's, then a distinct run name. */
export function baselineSets(b: Baseline, configName: string, userSets: string[] = []): string[] {
  return [...userSets, ...b.set, `name=${configName}-${b.name}`];
}

/** The name a config's baseline runs are named after: its `name`, else its file name without `.flowloop.json`. */
export function baselineConfigName(config: { name?: unknown }, configPath: string): string {
  return typeof config.name === 'string' && config.name
    ? config.name
    : (configPath.split(/[\\/]/).pop() ?? '').replace(/\.flowloop\.json$|\.json$/, '');
}

/**
 * The overrides of one baseline run, as the CLI's `flowloop baselines` and the editor's "Run Baselines" both
 * run it: baselineSets, then with `seed` (`--repeat`) that seed and a seed-suffixed name, then for a baseline
 * that starts from another's run (`initFrom`) `init=<that run's folder>` (a placeholder before it exists).
 */
export function baselineRunSets(
  b: Baseline,
  configName: string,
  userSets: string[] = [],
  opts: { seed?: number; initDir?: string } = {},
): string[] {
  const sets = baselineSets(b, configName, userSets);
  if (opts.seed !== undefined) sets.push(`seed=${opts.seed}`, `name=${configName}-${b.name}-s${opts.seed}`);
  if (b.initFrom) sets.push(`init=${opts.initDir ?? `<${b.initFrom} run>`}`);
  return sets;
}

/** A chosen baseline that starts from the run of a baseline that is not chosen (then the choice cannot run). */
export function missingInitFrom(chosen: Baseline[]): Baseline | undefined {
  return chosen.find((x) => x.initFrom && !chosen.some((y) => y.name === x.initFrom));
}

/**
 * The run folder a baseline starts from: its `initFrom` baseline's run among `outcomes` (the same seed's),
 * which must have finished; `{}` for a baseline that starts from scratch.
 */
export function initDirOf(b: Baseline, outcomes: BaselineOutcome[]): { initDir?: string; error?: string } {
  if (!b.initFrom) return {};
  const dep = outcomes.find((x) => x.baseline.name === b.initFrom);
  if (!dep || dep.status !== 'finished' || !dep.runDir)
    return { error: `its ${b.initFrom} run did not finish (${dep ? dep.status : 'not chosen'})` };
  return { initDir: dep.runDir };
}

export interface BaselineOutcome {
  baseline: Baseline;
  status: RunStatus | 'not run';
  runDir?: string;
  error?: string;
}

/** One row of a comparison: a baseline run, or an extra row inside it (extra decodings, the nested SASRec). */
export interface BaselineRow {
  name: string;
  status: string;
  key: string;
  metrics: Record<string, number>;
}

/** The rows of finished (or failed) baseline runs, read back from their run folders. */
export function baselineRows(outcomes: BaselineOutcome[]): BaselineRow[] {
  const rows: BaselineRow[] = [];
  for (const o of outcomes) {
    const info = o.runDir ? readRunInfo(o.runDir) : undefined;
    let metrics: Record<string, number> = {};
    try {
      metrics = o.runDir ? flattenMetrics(readMetrics(o.runDir) ?? {}) : {};
    } catch {
      /* unreadable metrics: shown as — */
    }
    const key = info?.keyMetric ? `${info.keyMetric.name}=${fmt(info.keyMetric.value)}` : '';
    rows.push({ name: o.baseline.name, status: o.status, key, metrics });
    for (const x of o.baseline.extraRows ?? []) {
      const sub: Record<string, number> = {};
      for (const [k, v] of Object.entries(metrics)) if (k.startsWith(`${x.prefix}/`)) sub[k.slice(x.prefix.length + 1)] = v;
      if (Object.keys(sub).length) rows.push({ name: x.name, status: o.status, key: '', metrics: sub });
    }
  }
  return rows;
}

/** The comparison table of finished (or failed) baseline runs, read back from their run folders. */
export function baselineComparison(kind: string, outcomes: BaselineOutcome[]): string[] {
  const rows = baselineRows(outcomes);
  const wanted = COMPARE_METRICS[kind] ?? [];
  const cols = wanted.filter((k) => rows.some((r) => k in r.metrics));
  return formatTable(
    ['baseline', 'status', 'key metric', ...cols],
    rows.map((r) => [r.name, r.status, r.key || '—', ...cols.map((k) => (k in r.metrics ? fmt(r.metrics[k]) : '—'))]),
  );
}

/** Mean and sample standard deviation (n − 1; 0 for one value) of a metric over seeds. */
export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

export function meanStd(values: number[]): MeanStd {
  const n = values.length;
  const mean = values.reduce((a, v) => a + v, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** `--repeat`: per row name, mean ± std over the seeds whose run finished, of every metric the rows have. */
export interface RepeatSummary {
  seeds: number[];
  rows: { name: string; finished: number; runs: string[]; metrics: Record<string, MeanStd> }[];
}

export function repeatSummary(seeds: number[], outcomesBySeed: BaselineOutcome[][]): RepeatSummary {
  const byName = new Map<string, { finished: number; runs: string[]; values: Map<string, number[]> }>();
  outcomesBySeed.forEach((outcomes) => {
    const rows = baselineRows(outcomes);
    for (const r of rows) {
      let e = byName.get(r.name);
      if (!e) byName.set(r.name, (e = { finished: 0, runs: [], values: new Map() }));
      const o = outcomes.find((x) => x.baseline.name === r.name || x.baseline.extraRows?.some((y) => y.name === r.name));
      if (o?.runDir && !e.runs.includes(o.runDir)) e.runs.push(o.runDir);
      if (r.status !== 'finished') continue;
      e.finished++;
      for (const [k, v] of Object.entries(r.metrics)) {
        const l = e.values.get(k) ?? [];
        l.push(v);
        e.values.set(k, l);
      }
    }
  });
  return {
    seeds,
    rows: [...byName].map(([name, e]) => ({
      name,
      finished: e.finished,
      runs: e.runs,
      metrics: Object.fromEntries([...e.values].map(([k, v]) => [k, meanStd(v)])),
    })),
  };
}

/** The `--repeat` table: `mean ± std` (over the finished seeds, n shown) per row and metric. */
export function repeatComparison(kind: string, summary: RepeatSummary): string[] {
  const wanted = COMPARE_METRICS[kind] ?? [];
  const cols = wanted.filter((k) => summary.rows.some((r) => k in r.metrics));
  const cell = (m?: MeanStd) => (m ? `${fmt(m.mean)} ± ${fmt(m.std)}` : '—');
  return formatTable(
    ['baseline', `seeds finished (of ${summary.seeds.length})`, ...cols],
    summary.rows.map((r) => [r.name, String(r.finished), ...cols.map((k) => cell(r.metrics[k]))]),
  );
}

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { formatTable, fmt } from '../util/table';
import { linePlotSvg, type Series } from '../util/svgPlot';
import { hasResults, type ConfigObject, type RunInfo, type RunStatus } from './events';
import type { FlowloopConfig, SweepSpec } from './configTypes';
import { getPath, setPath } from './overrides';
import { runInWorker } from '../executor/local';
import { ConfigError, runSingle, type RunOptions, type RunResult } from './runner';
import { flattenMetrics, readMetrics, readRunInfo, runsRoot, writeFileAtomic, writeJsonAtomic } from './runStore';

export { flattenMetrics };
import { locateInFile, validateConfigObject } from './validate';

/** One swept parameter after expansion: its dotted path and the values it takes. */
export interface SweepAxis {
  path: string;
  values: unknown[];
  log: boolean;
}

export interface SweepPoint {
  index: number;
  assignments: Record<string, unknown>;
  seed: number;
  repeat: number;
  runDir?: string;
  status?: RunStatus | 'pending';
}

/** A sweep's index as it starts or resumes (locally or on Slurm): running, in this process, the first start time kept. */
export function startedSweepIndex(
  f: Pick<SweepIndex, 'name' | 'kind' | 'configPath' | 'seed' | 'axes' | 'repeat' | 'points' | 'slurmJobs'>,
  previous?: SweepIndex,
): SweepIndex {
  return {
    name: f.name,
    kind: f.kind,
    configPath: f.configPath,
    status: 'running',
    startedAt: previous?.startedAt ?? new Date().toISOString(),
    pid: process.pid,
    seed: f.seed,
    axes: f.axes,
    repeat: f.repeat,
    points: f.points,
    ...(f.slurmJobs ? { slurmJobs: f.slurmJobs } : {}),
  };
}

/** sweep.json: the index a person (or the extension's tree) reads to find the points. */
export interface SweepIndex {
  name: string;
  kind: string;
  configPath: string;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  pid: number;
  seed: number;
  axes: SweepAxis[];
  repeat: number;
  points: SweepPoint[];
  /** Slurm job ids of the submissions that ran its points (core/executor/slurmRun.ts), oldest first. */
  slurmJobs?: string[];
  /**
   * What produced the points' numbers when a kind says so (metrics.json `producedBy`, e.g. AFL's
   * "built-in agents (rule-based, not an LLM)"): distinct labels, also in results.csv/.txt and the plots.
   */
  producedBy?: string[];
}

/** A sweep parameter as written (the schema's defaults for `scale` and `integer` may be absent). */
type SweepParameterInput = Omit<SweepSpec['parameters'][number], 'range'> & {
  range?: Omit<NonNullable<SweepSpec['parameters'][number]['range']>, 'scale' | 'integer'> & {
    scale?: 'linear' | 'log';
    integer?: boolean;
  };
};

/** Expand `range` specs: linear or geometric (`scale: "log"`) spacing, optional integer rounding. */
export function expandAxes(sweep: { parameters: SweepParameterInput[] }): SweepAxis[] {
  return sweep.parameters.map((p) => {
    if (p.values) return { path: p.path, values: p.values, log: false };
    if (!p.range) throw new Error(`sweep parameter "${p.path}" has neither values nor range`);
    const { from, to, count, scale = 'linear', integer = false } = p.range;
    const log = scale === 'log';
    const values = Array.from({ length: count }, (_, i) => {
      const f = i / (count - 1);
      const v = log ? from * (to / from) ** f : from + (to - from) * f;
      return integer ? Math.round(v) : Number(v.toPrecision(12));
    });
    return { path: p.path, values, log };
  });
}

/** Grid = Cartesian product of the axes, each point repeated `repeat` times with seeds seed, seed+1, ... */
export function expandGrid(axes: SweepAxis[], repeat: number, seed: number): SweepPoint[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const a of axes) combos = combos.flatMap((c) => a.values.map((v) => ({ ...c, [a.path]: v })));
  const out: SweepPoint[] = [];
  combos.forEach((assignments) => {
    for (let r = 0; r < repeat; r++) out.push({ index: out.length, assignments, seed: seed + r, repeat: r, status: 'pending' });
  });
  return out;
}

/** The config of one point: the sweep block removed, assignments and seed applied, a distinct name. */
export function pointConfig(config: FlowloopConfig, point: SweepPoint, name: string): ConfigObject {
  let c: ConfigObject = { ...config };
  delete c.sweep;
  for (const [path, value] of Object.entries(point.assignments)) c = setPath(c, path, value);
  c.seed = point.seed;
  c.name = `${name}-p${point.index}`;
  return c;
}

/** Deterministic sweep folder: the same config reruns into the same folder, so finished points are skipped. */
export function sweepFolder(root: string, name: string, config: FlowloopConfig): string {
  const hash = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 8);
  return join(root, `sweep-${name}-${hash}`);
}

/**
 * Run a sweep: each point is its own run folder under the sweep folder, `sweep.json` indexes
 * them, finished points are skipped on rerun, `jobs` points run in parallel workers, and the results
 * table (CSV + text, mean ± std over repeats) and one SVG plot per metric are written at the end.
 */
export async function runSweep(opts: RunOptions & { jobs?: number; config: FlowloopConfig }): Promise<RunResult> {
  const { config } = opts;
  const sweep = config.sweep;
  if (!sweep) throw new Error('runSweep: the config has no sweep block');
  const configPath = resolve(opts.configPath);
  const name: string = config.name ?? basename(configPath).replace(/\.flowloop\.json$|\.json$/, '');
  const axes = expandAxes(sweep);
  const repeat: number = sweep.repeat ?? 1;
  const points = expandGrid(axes, repeat, config.seed ?? 42);
  // every point must be a valid config before anything runs
  for (const p of points) {
    const r = validateConfigObject(pointConfig(config, p, name), configPath, `sweep point ${p.index}: ${JSON.stringify(p.assignments)}`);
    if (r.errors.length) {
      const at = locateInFile(configPath, '/sweep/parameters');
      throw new ConfigError(
        configPath,
        r.errors.map((e) => ({ ...e, path: `/sweep/parameters (${e.path || '/'})`, ...at })),
      );
    }
  }
  const root = opts.outDir ? resolve(opts.outDir) : runsRoot(opts.workspace ?? process.cwd());
  const dir = sweepFolder(root, name, config);
  mkdirSync(dir, { recursive: true });
  const indexPath = join(dir, 'sweep.json');
  const previous: SweepIndex | undefined = existsSync(indexPath) ? JSON.parse(readFileSync(indexPath, 'utf8')) : undefined;
  const index = startedSweepIndex({ name, kind: config.kind, configPath, seed: config.seed ?? 42, axes, repeat, points }, previous);
  // resume: a point whose run folder says finished is kept as it is
  for (const p of points) {
    const old = previous?.points.find((q) => q.index === p.index);
    if (old?.runDir && readRunInfo(old.runDir)?.status === 'finished') Object.assign(p, { runDir: old.runDir, status: 'finished' });
  }
  const save = () => writeJsonAtomic(indexPath, index);
  save();
  opts.onRunDir?.(dir);
  const signal = opts.signal ?? new AbortController().signal;
  const sweepId = basename(dir);
  const emitProgress = (message: string) => {
    const done = points.filter((p) => p.status !== 'pending' && p.status !== 'running').length;
    opts.onEvent?.({ type: 'progress', runId: sweepId, t: Date.now(), phase: 'sweep', done, total: points.length, message });
  };
  const todo = points.filter((p) => p.status !== 'finished');
  emitProgress(`${points.length - todo.length} of ${points.length} points already finished`);
  const jobs = Math.max(1, opts.jobs ?? 1);
  let next = 0;
  const runOne = async (p: SweepPoint) => {
    p.status = 'running';
    save();
    const pc = pointConfig(config, p, name);
    const runInfoExtra: Partial<RunInfo> = { sweep: { dir, index: p.index, assignments: p.assignments } };
    const r =
      jobs === 1
        ? await runSingle({
            configPath,
            configObject: pc,
            outDir: dir,
            workspace: opts.workspace,
            signal,
            onEvent: opts.onEvent,
            runInfoExtra,
            onRunDir: (d) => {
              p.runDir = d;
              save();
            },
          })
        : await runInWorker(
            { type: 'start', configPath, configObject: pc, outDir: dir, workspace: opts.workspace ?? process.cwd(), runInfoExtra },
            signal,
            (e) => {
              if (e.type === 'run-started') {
                p.runDir = e.runDir;
                save();
              }
              opts.onEvent?.(e);
            },
          );
    p.runDir = r.runDir ?? p.runDir;
    p.status = r.status;
    save();
    emitProgress(`point ${p.index} ${r.status}: ${JSON.stringify(p.assignments)}`);
  };
  await Promise.all(
    Array.from({ length: Math.min(jobs, todo.length) }, async () => {
      while (next < todo.length && !signal.aborted) await runOne(todo[next++]);
    }),
  );
  // a degraded point has results (kept in the table) but makes the sweep degraded; any failed point fails it
  const status: RunStatus = signal.aborted
    ? 'cancelled'
    : points.every((p) => hasResults(p.status))
      ? points.some((p) => p.status === 'degraded')
        ? 'degraded'
        : 'finished'
      : 'failed';
  for (const p of points) if (p.status === 'running') p.status = 'cancelled';
  index.status = status;
  index.endedAt = new Date().toISOString();
  save();
  const table = writeSweepResults(dir, index, sweep.metrics);
  return {
    runDir: dir,
    status,
    metrics: { points: points.length, finished: points.filter((p) => hasResults(p.status)).length },
    table,
    error: status === 'failed' ? 'some sweep points failed (see sweep.json)' : undefined,
    degraded: status === 'degraded' ? ['some sweep points are degraded (see sweep.json)'] : undefined,
  };
}

/** Numeric leaves of a metrics object as dotted keys ("recommendation.afl.hr"); arrays are left out (curves). */

function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

/** results.csv, results.txt and plots/<metric>.svg from the finished points' metrics.json. */
export function writeSweepResults(dir: string, index: SweepIndex, wanted?: string[]): string[] {
  const groups = new Map<string, { assignments: Record<string, unknown>; metrics: Record<string, number>[]; producedBy: Set<string> }>();
  for (const p of index.points) {
    const key = JSON.stringify(p.assignments);
    if (!groups.has(key)) groups.set(key, { assignments: p.assignments, metrics: [], producedBy: new Set() });
    if (!hasResults(p.status) || !p.runDir) continue;
    const m = readMetrics(p.runDir) ?? {};
    groups.get(key)!.metrics.push(flattenMetrics(m));
    if (typeof m.producedBy === 'string') groups.get(key)!.producedBy.add(m.producedBy);
  }
  const producedBy = [...new Set([...groups.values()].flatMap((g) => [...g.producedBy]))];
  if (producedBy.length) index.producedBy = producedBy;
  else delete index.producedBy;
  writeJsonAtomic(join(dir, 'sweep.json'), index);
  const byNote = producedBy.length ? ` (${producedBy.join('; ')})` : '';
  const all = new Set<string>();
  for (const g of groups.values()) for (const m of g.metrics) for (const k of Object.keys(m)) all.add(k);
  const paths = index.axes.map((a) => a.path);
  const metricNames = (wanted?.length ? wanted : [...all].filter((k) => !paths.includes(k) && k !== 'seed')).filter((k) => all.has(k));
  const rows = [...groups.values()].map((g) => {
    const stats = metricNames.map((k) => {
      const xs = g.metrics.map((m) => m[k]).filter((v) => Number.isFinite(v));
      return xs.length ? meanStd(xs) : undefined;
    });
    return { g, stats };
  });
  const csv = [[...paths, 'n', ...metricNames.flatMap((k) => [k, `${k}_std`]), ...(producedBy.length ? ['produced_by'] : [])].join(',')];
  for (const { g, stats } of rows) {
    csv.push(
      [
        ...paths.map((p) => JSON.stringify(g.assignments[p])),
        g.metrics.length,
        ...stats.flatMap((s): (string | number)[] => (s ? [s.mean, s.std] : ['', ''])),
        ...(producedBy.length ? [JSON.stringify([...g.producedBy].join('; '))] : []),
      ].join(','),
    );
  }
  writeFileAtomic(join(dir, 'results.csv'), csv.join('\n') + '\n');
  const text = formatTable(
    [...paths, 'n', ...metricNames],
    rows.map(({ g, stats }) => [
      ...paths.map((p) => String(g.assignments[p])),
      String(g.metrics.length),
      ...stats.map((s) => (s ? (index.repeat > 1 ? `${fmt(s.mean)} ± ${fmt(s.std)}` : fmt(s.mean)) : '—')),
    ]),
  );
  if (producedBy.length) text.unshift(`produced by: ${producedBy.join('; ')}`);
  writeFileAtomic(join(dir, 'results.txt'), text.join('\n') + '\n');
  // one plot per metric against the first numeric axis; other axes become separate lines
  const xAxis = index.axes.find((a) => a.values.every((v) => typeof v === 'number'));
  if (xAxis) {
    for (const [mi, k] of metricNames.entries()) {
      const bySeries = new Map<string, Series>();
      for (const { g, stats } of rows) {
        const s = stats[mi];
        if (!s) continue;
        const rest =
          paths
            .filter((p) => p !== xAxis.path)
            .map((p) => `${p}=${JSON.stringify(g.assignments[p])}`)
            .join(', ') || k;
        if (!bySeries.has(rest)) bySeries.set(rest, { label: rest, points: [] });
        bySeries.get(rest)!.points.push({ x: g.assignments[xAxis.path] as number, y: s.mean, err: index.repeat > 1 ? s.std : undefined });
      }
      const svg = linePlotSvg([...bySeries.values()], {
        title: `${index.name}: ${k}${byNote}`,
        xLabel: xAxis.path,
        yLabel: k,
        logX: xAxis.log,
      });
      writeFileAtomic(join(dir, 'plots', `${k.replace(/[^A-Za-z0-9@._-]/g, '_')}.svg`), svg);
    }
  }
  return [
    `sweep ${index.name}: ${index.points.filter((p) => p.status === 'finished').length}/${index.points.length} points finished (${index.status})`,
    ...text,
    `table: ${join(dir, 'results.csv')}`,
    `plots: ${join(dir, 'plots')}`,
  ];
}

export { getPath };

/**
 * Metric series for the loss view, built from `metric` events (core/experiment/events.ts): one series per
 * (run, name, series qualifier), x = step, sorted by step; grouped into charts by what the name measures.
 */
import type { MetricEvent } from '../../core/experiment/events';

export type Group = 'loss' | 'lr' | 'grad' | 'valid' | 'other';
export const GROUPS: { id: Group; title: string; yLabel: string }[] = [
  { id: 'loss', title: 'Loss terms', yLabel: 'loss' },
  { id: 'lr', title: 'Learning rate', yLabel: 'lr' },
  { id: 'grad', title: 'Gradient norm', yLabel: 'norm' },
  { id: 'valid', title: 'Validation / fit metrics', yLabel: 'value' },
  { id: 'other', title: 'Other metrics', yLabel: 'value' },
];

/**
 * Which chart a metric name belongs to: "train/lr" → lr; "train/grad_norm" → grad; "train/sft",
 * "train/gfn", "train/total", "valid/loss" → loss; "valid/ndcg@10", "fit/js" → valid; the rest → other.
 */
export function groupOf(name: string): Group {
  if (/(^|\/)(lr|learning[_-]?rate)$/i.test(name)) return 'lr';
  if (/grad/i.test(name)) return 'grad';
  if (/loss/i.test(name) || /^train\//i.test(name)) return 'loss';
  if (/^(valid|val|test|eval|fit)\//i.test(name)) return 'valid';
  return 'other';
}

export interface Series {
  key: string;
  runId: string;
  name: string;
  qualifier?: string;
  group: Group;
  xs: number[];
  ys: number[];
  /** Wall-clock time (ms) and epoch of each point, in the same order as xs (epoch NaN when not reported). */
  ts: number[];
  eps: number[];
}

export class SeriesStore {
  readonly series = new Map<string, Series>();
  /** Metric events received (each one lands in a series; a repeated (series, step) overwrites the value). */
  received = 0;
  private runOrder: string[] = [];

  static keyOf(e: Pick<MetricEvent, 'runId' | 'name' | 'series'>): string {
    return `${e.runId}\u0000${e.name}\u0000${e.series ?? ''}`;
  }

  runIndex(runId: string): number {
    let i = this.runOrder.indexOf(runId);
    if (i < 0) {
      this.runOrder.push(runId);
      i = this.runOrder.length - 1;
    }
    return i;
  }

  clear(): void {
    this.series.clear();
    this.received = 0;
    this.runOrder = [];
  }

  /** Adds one event; returns the series it went into. */
  add(e: MetricEvent): Series {
    const key = SeriesStore.keyOf(e);
    let s = this.series.get(key);
    if (!s) {
      s = { key, runId: e.runId, name: e.name, qualifier: e.series, group: groupOf(e.name), xs: [], ys: [], ts: [], eps: [] };
      this.series.set(key, s);
      this.runIndex(e.runId);
    }
    this.received++;
    const n = s.xs.length;
    const ep = e.epoch ?? NaN;
    if (n === 0 || e.step > s.xs[n - 1]) {
      s.xs.push(e.step);
      s.ys.push(e.value);
      s.ts.push(e.t);
      s.eps.push(ep);
    } else {
      // out of order or repeated step: binary search; same step overwrites (a resumed run re-reporting it)
      let lo = 0,
        hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (s.xs[mid] < e.step) lo = mid + 1;
        else hi = mid;
      }
      if (s.xs[lo] === e.step) {
        s.ys[lo] = e.value;
        s.ts[lo] = e.t;
        s.eps[lo] = ep;
      } else {
        s.xs.splice(lo, 0, e.step);
        s.ys.splice(lo, 0, e.value);
        s.ts.splice(lo, 0, e.t);
        s.eps.splice(lo, 0, ep);
      }
    }
    return s;
  }

  inGroup(g: Group): Series[] {
    return [...this.series.values()].filter((s) => s.group === g);
  }
}

export type XAxis = 'step' | 'epoch' | 'time';

/**
 * The x values of a series on the chosen axis, with the matching y values: steps; epochs (the last value
 * reported in each epoch, for series that report epochs); or seconds since the run's first metric.
 */
export function onAxis(s: Series, x: XAxis, runStart: number): { xs: number[]; ys: number[] } {
  if (x === 'step') return { xs: s.xs, ys: s.ys };
  if (x === 'time') {
    const pts = s.ts.map((t, i) => [(t - runStart) / 1000, s.ys[i]] as const).sort((a, b) => a[0] - b[0]);
    const xs: number[] = [],
      ys: number[] = [];
    for (const [a, b] of pts) {
      if (xs.length && a <= xs[xs.length - 1]) {
        ys[ys.length - 1] = b;
        continue;
      }
      xs.push(a);
      ys.push(b);
    }
    return { xs, ys };
  }
  const byEpoch = new Map<number, number>();
  s.eps.forEach((ep, i) => {
    if (Number.isFinite(ep)) byEpoch.set(ep, s.ys[i]);
  });
  const xs = [...byEpoch.keys()].sort((a, b) => a - b);
  return { xs, ys: xs.map((e) => byEpoch.get(e)!) };
}

/**
 * The compare view's sweep chart data: one series per metric of a sweep's points (swept value → mean over the
 * point's repeats), headline metrics first.
 */
import type { SweepData } from '../contract';
import { flatten, num } from './tables';

const HEADLINE = [
  'ndcg@10',
  'hr@10',
  'dgu',
  'mgu',
  'entropy',
  'h',
  'ttr',
  'hr@1',
  'recommendation/afl/hr',
  'recommendation/recagent/hr',
  'f1',
  'js',
  'kl(target||gen)',
  'kl(gen||target)',
];

/**
 * Sweep: (swept value, mean over repeats) per metric, sorted by value. Metrics = `sweep.metrics` when
 * given (those present in ≥ 1 point), else headline metrics present in ≥ 2 points, then others that vary.
 */
export function sweepSeries(sweep: SweepData, max = 8): { metric: string; xs: number[]; ys: number[]; labels?: string[] }[] {
  const numericX = sweep.points.every((p) => typeof p.value === 'number');
  const labels = numericX ? undefined : [...new Set(sweep.points.map((p) => String(p.value)))];
  const xOf = (v: number | string) => (numericX ? (v as number) : labels!.indexOf(String(v)));
  const flats = sweep.points.map((p) => ({ x: xOf(p.value), flat: flatten(p.metrics) }));
  const values = new Map<string, Set<number>>();
  const counts = new Map<string, number>();
  for (const { flat } of flats)
    for (const [k, v] of flat)
      if (typeof v === 'number') {
        counts.set(k, (counts.get(k) ?? 0) + 1);
        values.set(k, (values.get(k) ?? new Set()).add(v));
      }
  const rank = (k: string) => {
    const i = HEADLINE.findIndex((h) => k === h || k.endsWith(`/${h}`));
    return i < 0 ? HEADLINE.length : i;
  };
  let names: string[];
  if (sweep.metrics?.length) {
    names = sweep.metrics.map((m) => m.toLowerCase().replace(/\./g, '/')).filter((k) => counts.has(k));
  } else {
    names = [...counts].filter(([k, c]) => c >= 2 && (rank(k) < HEADLINE.length || values.get(k)!.size > 1)).map(([k]) => k);
    names.sort((a, b) => rank(a) - rank(b));
  }
  return names.slice(0, max).map((metric) => {
    const by = new Map<number, number[]>();
    for (const { x, flat } of flats) {
      const v = num(flat, metric);
      if (v !== undefined) by.set(x, [...(by.get(x) ?? []), v]);
    }
    const xs = [...by.keys()].sort((a, b) => a - b);
    return { metric, xs, ys: xs.map((x) => by.get(x)!.reduce((a, b) => a + b, 0) / by.get(x)!.length), labels };
  });
}

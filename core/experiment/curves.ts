/**
 * Metric curves as SVG files in the run folder (docs/design.md "Run folders": plots where a person would rather
 * look than read JSON). The runner feeds every `metric` event here; when the run ends — finished, failed or
 * cancelled — each metric with at least one point becomes `plots/<metric>.svg` (e.g. `plots/train-total.svg`; a
 * one-epoch run's test metrics are single marked points), so every run that reported a metric is inspectable without the extension. Only the kinds' own events are used: nothing is recomputed.
 */
import type { MetricEvent } from './events';
import { linePlotSvg } from '../util/svgPlot';

/** Points kept per curve in the SVG (evenly thinned, the last point always kept): a plot, not a data dump. */
export const MAX_POINTS_PER_CURVE = 1500;
/** Curves with at most this many points get a hover marker per point (validation metrics per epoch, AFL rounds). */
export const MARKERS_UP_TO = 200;
/** At most this many curve files per run (a run with hundreds of metric names gets the first ones). */
export const MAX_CURVES = 60;

export class MetricCurves {
  private readonly series = new Map<string, { x: number; y: number }[]>();

  add(e: Pick<MetricEvent, 'name' | 'step' | 'value'>): void {
    if (!Number.isFinite(e.step) || !Number.isFinite(e.value)) return;
    let s = this.series.get(e.name);
    if (!s) { s = []; this.series.set(e.name, s); }
    s.push({ x: e.step, y: e.value });
  }

  /** File name for a metric: `train/total` → `train-total.svg`; anything outside [A-Za-z0-9@._-] becomes `_`. */
  static fileName(metric: string): string {
    return `${metric.replace(/\//g, '-').replace(/[^A-Za-z0-9@._-]/g, '_')}.svg`;
  }

  /** The SVG files to write: relative path → content, one per metric with ≥ 1 finite point. */
  plots(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, pts] of this.series) {
      if (out.size >= MAX_CURVES) break;
      if (!pts.length) continue;
      const kept = thin(pts, MAX_POINTS_PER_CURVE);
      const thinned = kept.length < pts.length ? ` (${kept.length} of ${pts.length} points)` : '';
      out.set(`plots/${MetricCurves.fileName(name)}`, linePlotSvg([{ label: name, points: kept }], { title: `${name}${thinned}`, xLabel: 'step', yLabel: name, markers: kept.length <= MARKERS_UP_TO }));
    }
    return out;
  }
}

/** Evenly spaced subset of at most `max` points that keeps the first and the last. */
export function thin<T>(pts: T[], max: number): T[] {
  if (pts.length <= max) return pts;
  const out: T[] = [];
  const stride = (pts.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(pts[Math.round(i * stride)]);
  return out;
}

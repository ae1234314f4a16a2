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
  /** metric name → series qualifier (the objective "sft"/"flower", an AFL variant; "" = none) → points. */
  private readonly series = new Map<string, Map<string, { x: number; y: number }[]>>();

  add(e: Pick<MetricEvent, 'name' | 'step' | 'value'> & { series?: string }): void {
    if (!Number.isFinite(e.step) || !Number.isFinite(e.value)) return;
    let bySeries = this.series.get(e.name);
    if (!bySeries) {
      bySeries = new Map();
      this.series.set(e.name, bySeries);
    }
    let s = bySeries.get(e.series ?? '');
    if (!s) {
      s = [];
      bySeries.set(e.series ?? '', s);
    }
    s.push({ x: e.step, y: e.value });
  }

  /** File name for a metric: `train/total` → `train-total.svg`; anything outside [A-Za-z0-9@._-] becomes `_`. */
  static fileName(metric: string): string {
    return `${metric.replace(/\//g, '-').replace(/[^A-Za-z0-9@._-]/g, '_')}.svg`;
  }

  /** The SVG files to write: relative path → content, one per metric with ≥ 1 finite point. */
  plots(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, bySeries] of this.series) {
      if (out.size >= MAX_CURVES) break;
      // one line per series (SFT and Flower fitted in one run are two lines, not one zig-zag)
      const lines = [...bySeries]
        .filter(([, pts]) => pts.length)
        .map(([label, pts]) => ({ label: label || name, pts, kept: thin(pts, MAX_POINTS_PER_CURVE) }));
      if (!lines.length) continue;
      const total = lines.reduce((a, l) => a + l.pts.length, 0),
        shown = lines.reduce((a, l) => a + l.kept.length, 0);
      const thinned = shown < total ? ` (${shown} of ${total} points)` : '';
      out.set(
        `plots/${MetricCurves.fileName(name)}`,
        linePlotSvg(
          lines.map((l) => ({ label: l.label, points: l.kept })),
          { title: `${name}${thinned}`, xLabel: 'step', yLabel: name, markers: shown <= MARKERS_UP_TO },
        ),
      );
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

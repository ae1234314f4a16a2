import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricCurves, MAX_POINTS_PER_CURVE, thin } from '../../core/experiment/curves';

/** x,y pairs of the curve's polyline in an SVG written by svgPlot. */
function polylinePoints(svg: string): number {
  const m = svg.match(/<polyline[^>]* points="([^"]*)"/);
  return m ? m[1].trim().split(/\s+/).length : 0;
}

test('thin keeps the first and last point and at most max points, evenly spaced', () => {
  const pts = Array.from({ length: 10001 }, (_, i) => i);
  const t = thin(pts, 101);
  assert.equal(t.length, 101);
  assert.equal(t[0], 0);
  assert.equal(t[100], 10000);
  assert.deepEqual(t.slice(0, 3), [0, 100, 200]);
  assert.deepEqual(thin([1, 2, 3], 5), [1, 2, 3]);
});

test('one SVG per metric with at least one finite point (a one-epoch run is plotted too); names map to safe file names', () => {
  const c = new MetricCurves();
  for (let s = 0; s < 5; s++) c.add({ name: 'train/total', step: s, value: 1 / (s + 1) });
  c.add({ name: 'valid/ndcg@10', step: 0, value: 0.1 });
  c.add({ name: 'valid/ndcg@10', step: 1, value: Number.NaN }); // not finite: ignored
  c.add({ name: 'afl/hr@1 (strict)', step: 1, value: 0.3 });
  c.add({ name: 'afl/hr@1 (strict)', step: 2, value: 0.35 });
  const plots = c.plots();
  assert.deepEqual([...plots.keys()].sort(), ['plots/afl-hr@1__strict_.svg', 'plots/train-total.svg', 'plots/valid-ndcg@10.svg']);
  assert.match(plots.get('plots/valid-ndcg@10.svg')!, /<circle/, 'a single point is drawn as a marker');
  assert.equal(polylinePoints(plots.get('plots/train-total.svg')!), 5);
  assert.match(plots.get('plots/train-total.svg')!, /<title>train\/total: x=4, y=0.2<\/title>/);
});

test('a long curve is thinned to MAX_POINTS_PER_CURVE points and says so in its title', () => {
  const c = new MetricCurves();
  const n = MAX_POINTS_PER_CURVE * 3 + 7;
  for (let s = 0; s < n; s++) c.add({ name: 'train/loss', step: s, value: Math.sin(s) });
  const svg = c.plots().get('plots/train-loss.svg')!;
  assert.equal(polylinePoints(svg), MAX_POINTS_PER_CURVE);
  assert.match(svg, new RegExp(`${MAX_POINTS_PER_CURVE} of ${n} points`));
  assert.doesNotMatch(svg, /<circle/, 'no per-point markers on a long curve');
});

test('a metric reported for several series (SFT and Flower in one run) is one plot with one line per series', () => {
  const c = new MetricCurves();
  for (const series of ['sft', 'flower'])
    for (let s = 0; s < 4; s++) c.add({ name: 'fit/js', step: s, value: series === 'sft' ? 0.5 - s / 10 : 0.3 - s / 20, series });
  const svg = c.plots().get('plots/fit-js.svg')!;
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2, 'two lines');
  assert.match(svg, />sft</);
  assert.match(svg, />flower</);
});

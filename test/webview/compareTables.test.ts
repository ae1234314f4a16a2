import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompareRun } from '../../webview/contract';
import { aflTable, flatten, flowerTable, toCsv, toMarkdown, userSimTable } from '../../webview/compare/tables';
import { sweepSeries } from '../../webview/compare/sweepSeries';
import { PAPER_TABLE4 } from '../../webview/compare/paper';

const flowerRun = (name: string, metrics: Record<string, unknown>, method?: string): CompareRun => ({
  runId: name,
  name,
  kind: 'flower',
  dataset: 'Video_Games',
  method,
  metrics,
});

test('flatten lower-cases nested keys and indexes arrays', () => {
  const f = flatten({ Test: { 'NDCG@10': 0.5, curve: [{ hr: 0.1 }, 0.2] }, name: 'x' });
  assert.deepEqual(
    [...f],
    [
      ['test/ndcg@10', 0.5],
      ['test/curve/0/hr', 0.1],
      ['test/curve/1', 0.2],
      ['name', 'x'],
    ],
  );
});

test('flower table reads top-level and nested results, maps entropy to H, adds the matching paper row', () => {
  const t = flowerTable(
    [
      flowerRun('a', { 'ndcg@10': 0.05, 'hr@10': 0.08, dgu: 0.1, mgu: 0.02, entropy: 7.5, ttr: 0.01 }, 'flower'),
      flowerRun('b', { valid: { 'ndcg@10': 0.04 }, test: { 'ndcg@10': 0.03, 'hr@10': 0.06 } }, 'sft'),
    ],
    'matching',
  )!;
  assert.deepEqual(
    t.rows.map((r) => r.label),
    ['a', 'b · valid', 'b · test', 'paper · BIGRec (Games)', 'paper · Flower (Games)'],
  );
  assert.deepEqual(t.rows[0].cells, [0.05, 0.08, 0.1, 0.02, 7.5, 0.01]);
  assert.deepEqual(t.rows[2].cells, [0.03, 0.06, undefined, undefined, undefined, undefined]);
  assert.deepEqual(t.rows[4].cells, [...PAPER_TABLE4.Video_Games.rows.Flower]);
  assert.equal(flowerTable([flowerRun('a', { 'ndcg@10': 1 })], 'none')!.rows.length, 1);
  assert.equal(flowerTable([flowerRun('a', { 'ndcg@10': 1 })], 'all')!.rows.length, 7);
  assert.equal(flowerTable([flowerRun('a', { loss: 1 })], 'all'), undefined);
  // core/flower/evaluate.ts layout: the main decoding at top level and under "main", others under their name
  const m = { 'ndcg@10': 0.05, 'hr@10': 0.08 };
  const t2 = flowerTable(
    [flowerRun('f', { main: { ...m, decoding: { beams: 10 } }, ...m, temp: { 'ndcg@10': 0.04 }, 'temp/ndcg@10': 0.04 }, 'flower')],
    'matching',
  )!;
  assert.deepEqual(
    t2.rows.map((r) => r.label),
    ['f', 'f · temp', 'paper · Temp (Games)', 'paper · Flower (Games)'],
  );
});

test('AFL table takes HR@1 per round from the final curve, else roundHr, ablations as rows, paper row for LastFM', () => {
  const run: CompareRun = {
    runId: 'r',
    name: 'afl',
    kind: 'afl',
    dataset: 'lastfm',
    metrics: {
      base: { hr: 0.29 },
      recommendation: { recAgent: { hr: 0.3 }, afl: { hr: 0.35 }, curve: [{ hr: 0.3 }, { hr: 0.33 }, { hr: 0.35 }] },
      ablations: { 'w/o both': { recAgent: { hr: 0.07 }, afl: { hr: 0.08 }, curve: [{ hr: 0.07 }] } },
    },
  };
  const t = aflTable([run], 'matching')!;
  assert.deepEqual(t.columns, ['Base HR@1', 'Rec Agent HR@1', 'AFL HR@1', 'HR@1 r1', 'HR@1 r2', 'HR@1 r3']);
  assert.deepEqual(t.rows[0].cells, [0.29, 0.3, 0.35, 0.3, 0.33, 0.35]);
  assert.deepEqual(t.rows[1], { label: 'afl · w/o both', runId: 'r', cells: [undefined, 0.07, 0.08, 0.07, undefined, undefined] });
  assert.deepEqual(t.rows[2].cells.slice(0, 3), [0.2869, 0.3197, 0.377]);
  const live = aflTable([{ ...run, metrics: {}, roundHr: [0.1, 0.2] }], 'none')!;
  assert.deepEqual(live.rows[0].cells, [undefined, undefined, undefined, 0.1, 0.2]);
  // the host may flatten nested objects as "a/b" keys first (arrays kept): same table
  const preFlat = {
    'base/hr': 0.29,
    'recommendation/recAgent/hr': 0.3,
    'recommendation/afl/hr': 0.35,
    'recommendation/curve': [{ hr: 0.3 }, { hr: 0.33 }, { hr: 0.35 }],
    'ablations/w/o both/recAgent/hr': 0.07,
    'ablations/w/o both/afl/hr': 0.08,
    'ablations/w/o both/curve': [{ hr: 0.07 }],
  };
  assert.deepEqual(aflTable([{ ...run, metrics: preFlat }], 'matching'), t);
  // once metrics.json has the curve, it wins over roundHr (which may mix ablation series)
  assert.deepEqual(aflTable([{ ...run, roundHr: [0.9, 0.9, 0.9] }], 'none')!.rows[0].cells.slice(3), [0.3, 0.33, 0.35]);
});

test('user-simulation table has one row per ratio and judge with micro P/R/F1 and macro F1; the paper Reward Model row is marked unreproduced', () => {
  const runs = [
    {
      runId: 'r',
      name: 'afl',
      kind: 'afl',
      metrics: {
        userSimulation: {
          '1_3': { afl: { micro: { precision: 0.5, recall: 0.25, f1: 1 / 3 }, macro: { f1: 0.3 } } },
          '1_1': { rewardModel: { micro: { precision: 0.6767, recall: 0.3383, f1: 0.45 }, macro: { f1: 0.4 } } },
        },
      },
    },
  ];
  const t = userSimTable(runs, 'none')!;
  assert.deepEqual(t.rows, [
    { label: 'afl · 1:3 · AFL', runId: 'r', cells: [0.5, 0.25, 1 / 3, 0.3] },
    { label: 'afl · 1:1 · Reward Model (SASRec top quarter)', runId: 'r', cells: [0.6767, 0.3383, 0.45, 0.4] },
  ]);
  const withPaper = userSimTable(runs, 'matching')!.rows;
  assert.equal(withPaper.length, 3);
  const ref = withPaper[2];
  assert.equal(ref.reference, true);
  assert.equal(ref.label, 'paper · LastFM 1:1 · Reward Model (not reproduced)');
  assert.deepEqual(ref.cells, [0.6667, 0.0533, undefined, undefined], 'the paper gives P and R only');
  assert.match(ref.note!, /No definition tried reproduces it \(docs\/methods\.md §B4\)/);
  assert.match(ref.note!, /top quarter .* P \.6767, R \.3383; top-1 60, P \.7167, R \.0717/);
});

test('CSV quotes fields with commas and keeps full precision; Markdown escapes pipes and italicises paper rows', () => {
  const tables = [
    {
      id: 'flower' as const,
      title: 'T',
      columns: ['A'],
      rows: [
        { label: 'run, "x" | y', cells: [1 / 3] },
        { label: 'paper', cells: [0.5], reference: true },
      ],
    },
  ];
  assert.equal(toCsv(tables), 'T\nrun,source,A\n"run, ""x"" | y",flowloop,0.3333333333333333\npaper,paper,0.5\n');
  assert.equal(toMarkdown(tables), '### T\n\n| run | A |\n|---|---:|\n| run, "x" \\| y | 0.3333 |\n| *paper* | *0.5* |\n');
});

test('sweep series average repeats per value, sort by value, put headline metrics first and skip constants', () => {
  const s = sweepSeries({
    parameter: 'theta',
    points: [
      { value: 0.9, metrics: { loss: 1, 'ndcg@10': 0.1, rows: 10 } },
      { value: 0.5, metrics: { loss: 2, 'ndcg@10': 0.3, rows: 10 } },
      { value: 0.5, metrics: { loss: 4, 'ndcg@10': 0.5, rows: 10 } },
    ],
  });
  assert.deepEqual(
    s.map((x) => x.metric),
    ['ndcg@10', 'loss'],
  );
  assert.deepEqual(s[0].xs, [0.5, 0.9]);
  assert.deepEqual(s[0].ys, [0.4, 0.1]);
  assert.deepEqual(s[1].ys, [3, 1]);
  // the config's sweep.metrics (dotted paths) choose and order the charts
  const chosen = sweepSeries({
    parameter: 'maxRounds',
    metrics: ['recommendation.afl.hr', 'ablations.w/o rec model.afl.hr', 'missing.metric'],
    points: [
      { value: 1, metrics: { recommendation: { afl: { hr: 0.3 } }, ablations: { 'w/o rec model': { afl: { hr: 0.07 } } } } },
      { value: 2, metrics: { recommendation: { afl: { hr: 0.3 } }, ablations: { 'w/o rec model': { afl: { hr: 0.09 } } } } },
    ],
  });
  assert.deepEqual(
    chosen.map((x) => [x.metric, x.ys]),
    [
      ['recommendation/afl/hr', [0.3, 0.3]],
      ['ablations/w/o rec model/afl/hr', [0.07, 0.09]],
    ],
  );
});

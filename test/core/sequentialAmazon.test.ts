/**
 * Kind `sequential` on real Amazon data (CDs_and_Vinyl): the docs/methods.md §A8 dataset defaults, and the
 * docs/methods.md §A9 Table 4 row of a conventional recommender — recommendations.jsonl (top-10 titles per test
 * row), DGU/MGU over the 8 popularity groups (all 10 slots) and H/TTR over the top-1 titles — checked
 * against a hand computation from the written files and against the scores of the saved model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shared } from '../../harness/paths';
import { runSequentialExperiment } from '../../core/models/experiment';
import { loadModelDir } from '../../core/models/checkpoint';
import { TfjsScorer } from '../../core/models/tfjsScorer';
import { topIndices } from '../../core/models/evaluate';
import { loadAmazon } from '../../core/data/amazon';
import { scoreRecommendations } from '../../core/metrics';
import { recordingContext } from './recordingContext';

const fakeContext = recordingContext;

/** docs/methods.md §A9 written out longhand (no core/metrics code): groups, shares, DGU, MGU, H, TTR. */
function handMetrics(lists: string[][], counts: [string, number][]) {
  // stable sort by R descending; 8 groups of equal title count, the first n % 8 one larger
  const sorted = counts.map((e, i) => ({ t: e[0], r: e[1], i })).sort((a, b) => b.r - a.r || a.i - b.i);
  const total = sorted.reduce((s, x) => s + x.r, 0);
  const group = new Map<string, number>();
  const gd = new Array(8).fill(0);
  let at = 0;
  for (let g = 0; g < 8; g++) {
    const size = Math.floor(sorted.length / 8) + (g < sorted.length % 8 ? 1 : 0);
    for (const x of sorted.slice(at, at + size)) {
      group.set(x.t, g);
      gd[g] += x.r / total;
    }
    at += size;
  }
  const fair = (ls: string[][]) => {
    const n = new Array(8).fill(0);
    let slots = 0;
    for (const l of ls)
      for (const t of l) {
        slots++;
        if (group.has(t)) n[group.get(t)!]++;
      }
    const d = n.map((c, g) => c / slots - gd[g]);
    return { dgu: Math.max(...d) - Math.min(...d), mgu: d.reduce((s, x) => s + Math.abs(x), 0) / 8 };
  };
  const words = lists
    .map((l) => l[0])
    .join(' ')
    .split(/\s+/)
    .filter((w) => w !== '');
  const freq = new Map<string, number>();
  for (const w of words) freq.set(w, (freq.get(w) ?? 0) + 1);
  let h = 0;
  for (const c of freq.values()) h -= (c / words.length) * Math.log2(c / words.length);
  const top10 = fair(lists),
    top1 = fair(lists.map((l) => [l[0]]));
  return { gd, dgu: top10.dgu, mgu: top10.mgu, 'dgu@1': top1.dgu, 'mgu@1': top1.mgu, entropy: h, ttr: freq.size / words.length };
}

test('sequential on Amazon CDs: A8 defaults resolved into config.json, top-10 recommendations and the A9 Table 4 metrics agree with a hand computation', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'flowloop-seq-amazon-'));
  const dataset = shared('amazon', 'CDs_and_Vinyl');
  try {
    const { ctx, events } = fakeContext(
      {
        kind: 'sequential',
        model: 'sasrec',
        dataset,
        epochs: 1,
        maxTrainRows: 2048,
        maxEvalRows: 100,
        maxTestRows: 60,
        hidden: 16,
        patience: 0,
        device: 'wasm',
      },
      runDir,
    );
    const m = await runSequentialExperiment(ctx);

    // A8: Amazon defaults batch 1024, weight decay 1e-5 (2048 rows = 2 steps), written back into config.json
    assert.deepEqual(
      m.resolved,
      { batchSize: 1024, weightDecay: 1e-5, ks: [1, 3, 5, 10, 20], validMetric: 'ndcg@20' },
      JSON.stringify(m.resolved),
    );
    const cfg = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
    assert.equal(cfg.batchSize, 1024, 'config.json batchSize');
    assert.equal(cfg.weightDecay, 1e-5, 'config.json weightDecay');
    const losses = events.filter((e) => e.type === 'metric' && e.name === 'train/loss').map((e) => e.step);
    assert.deepEqual(losses, [1], `train/loss events at steps ${losses} (2 steps of 1024, events at step 1 and every 10th)`);
    // A9: K = 3 is reported
    for (const k of ['test/hr@3', 'test/ndcg@3', 'test/ndcg@20']) assert.equal(typeof m[k], 'number', k);

    // recommendations.jsonl: 60 seeded test rows (test.csv numbers, ascending), 10 distinct titles each
    const recs = readFileSync(join(runDir, 'recommendations.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { row: number; titles: string[] });
    assert.equal(recs.length, 60);
    const ds = await loadAmazon(dataset);
    recs.forEach((r, i) => {
      assert.ok(Number.isInteger(r.row) && r.row >= 0 && r.row < ds.test.length, `row ${r.row}`);
      if (i > 0) assert.ok(r.row > recs[i - 1].row, `rows not ascending at ${i}: ${recs[i - 1].row}, ${r.row}`);
      assert.equal(new Set(r.titles).size, 10, `row ${r.row}: ${r.titles.length} titles, ${new Set(r.titles).size} distinct`);
    });

    // the lists are the saved model's top-10 titles (title score = best score of its ids)
    const net = loadModelDir(join(runDir, 'model')).model;
    const scorer = new TfjsScorer(net, 'saved', 'saved');
    const scores = await scorer.scoreAll(recs.map((r) => ds.test[r.row].historyIds));
    recs.forEach((r, b) => {
      const best = new Map<string, number>();
      scores[b].forEach((s, id) => {
        const t = ds.catalogue.titleOf(id);
        if (!(best.get(t)! >= s)) best.set(t, s);
      });
      const ranked = [...best.entries()].sort((x, y) => y[1] - x[1]);
      const want = ranked.slice(0, 10).map(([t]) => t);
      assert.deepEqual(r.titles, want, `row ${r.row}: lists differ (scores ${ranked.slice(0, 11).map((x) => x[1].toFixed(5))})`);
    });
    scorer.dispose();

    // hand computation over the written lists and title_counts.json
    const counts = Object.entries(JSON.parse(readFileSync(join(dataset, 'title_counts.json'), 'utf8'))) as [string, number][];
    const hand = handMetrics(
      recs.map((r) => r.titles),
      counts,
    );
    const paper = [0.4292, 0.1707, 0.1181, 0.0909, 0.0712, 0.0564, 0.0413, 0.0221];
    hand.gd.forEach((g, i) => assert.ok(Math.abs(g - paper[i]) < 6e-5, `g_d[${i}] = ${g}, docs/methods.md §A9 says ${paper[i]}`));
    for (const k of ['dgu', 'mgu', 'dgu@1', 'mgu@1', 'entropy', 'ttr'] as const) {
      const got = m[`test/${k}`] as number;
      assert.ok(Math.abs(got - hand[k]) < 1e-12, `test/${k}: run ${got}, by hand ${hand[k]}`);
      const ev = events.find((e) => e.type === 'metric' && e.name === `test/${k}`);
      assert.equal(ev?.value, got, `final metric event test/${k}`);
    }
    // the top-1 diversity differs from the all-slots one (they are not the same numbers under two names)
    assert.notEqual(m['test/entropy'], m['test/entropy@10']);

    // `flowloop metrics` (scoreRecommendations) on the same file: same DGU/MGU, and its HR/NDCG equal the full ranking's
    const cli = scoreRecommendations(recs, ds);
    assert.ok(
      Math.abs(cli.dgu - (m['test/dgu'] as number)) < 1e-12 && Math.abs(cli.mgu - (m['test/mgu'] as number)) < 1e-12,
      `cli ${cli.dgu}/${cli.mgu}`,
    );
    assert.ok(Math.abs(cli.entropy - (m['test/entropy@10'] as number)) < 1e-12, `entropy@10 ${m['test/entropy@10']} vs cli ${cli.entropy}`);
    for (const k of ['hr@1', 'hr@3', 'hr@5', 'hr@10', 'ndcg@3', 'ndcg@10'] as const) {
      assert.ok(Math.abs(cli[k] - (m[`test/${k}`] as number)) < 1e-12, `${k}: lists ${cli[k]}, full ranking ${m[`test/${k}`]}`);
    }
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('topIndices: n best, best first, ties to the lower index', () => {
  assert.deepEqual(Array.from(topIndices([0.1, 0.9, 0.5, 0.9, -Infinity, 0.7], 4)), [1, 3, 5, 2]);
  assert.deepEqual(Array.from(topIndices([3, 1, 2], 10)), [0, 2, 1]);
  assert.deepEqual(Array.from(topIndices([2, 2, 2, 2], 2)), [0, 1]);
});

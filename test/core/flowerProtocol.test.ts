/**
 * The Flower training protocol: linear LR decay after warmup, GFN rows re-scored without dropout (as
 * sampled), per-term gradient norms, the children-only option and on-tree mass, the combined validation
 * loss for early stopping, `init` from an SFT run's best epoch, the mechanism measurements, and the
 * `--repeat` mean ± std of the baselines table. Tiny models and a few hundred rows: seconds each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransformerPolicy } from '../../core/models/policy';
import { initBackend, getTf } from '../../core/tensor';
import { gfnSampleFromTitle, objective, stateChildren } from '../../core/flower/objective';
import { scheduledLr } from '../../core/flower/optim';
import { meanPairJaccard, oracleLists } from '../../core/flower/mechanism';
import { resolveInit } from '../../core/flower/fitPolicy';
import { defaultPersonalizationMode, resolveFlowerDefaults } from '../../core/flower/defaults';
import { meanStd, repeatComparison, repeatSummary, BASELINES } from '../../core/experiment/baselines';
import { runSingle } from '../../core/experiment/runner';
import type { RunEvent } from '../../core/experiment/events';
import { shared } from '../../harness/paths';
import { tinyPolicySetup, tinyRecommendConfig } from './tinyFlower';

const tiny = (dropout = 0) => tinyPolicySetup({ dropout });

test('scheduledLr: linear warmup, then linear decay to 0 at decaySteps (Hugging Face linear schedule); constant without decaySteps', () => {
  const o = { lr: 1, warmupSteps: 4, decaySteps: 12 };
  const got = Array.from({ length: 14 }, (_, s) => +scheduledLr(o, s).toFixed(4));
  assert.deepEqual(got, [0.25, 0.5, 0.75, 1, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0, 0]);
  assert.deepEqual(
    [5, 100].map((s) => scheduledLr({ lr: 0.1, warmupSteps: 4 }, s)),
    [0.1, 0.1],
  );
});

test('objective: GFN rows are scored without dropout (as sampled), SFT rows with it; on-tree mass and the children-only normalisation', async () => {
  await initBackend('auto');
  const tf = getTf();
  const { trie, vocab, cfg } = tiny(0.5);
  const pol = new TransformerPolicy(cfg, 4);
  const batch = {
    histories: [[1, 2], [3]],
    targets: [0, 3],
    samples: [gfnSampleFromTitle(trie, vocab, 3, 'none'), gfnSampleFromTitle(trie, vocab, 1, 'none')],
  };
  const val = (seed?: number, childrenOnly = false) =>
    tf.tidy(() => {
      const o = objective(pol, trie, vocab, batch, { theta: 0.5, personalization: 'none', gfnChildrenOnly: childrenOnly }, seed);
      return { sft: o.sft!.dataSync()[0], gfn: o.gfn!.dataSync()[0], mass: o.onTreeMass!.dataSync()[0] };
    });
  const eval_ = val(undefined),
    a = val(11),
    b = val(12);
  assert.equal(a.gfn, eval_.gfn, 'the GFN term does not depend on the dropout seed');
  assert.ok(a.sft !== eval_.sft && a.sft !== b.sft, `the SFT term has dropout: ${eval_.sft} / ${a.sft} / ${b.sft}`);
  // on-tree mass by hand: full-vocabulary probabilities of children ∪ {terminal} at each state of both samples
  const rows = batch.samples.map((s) => s.input);
  const lp = tf.tidy(() => pol.logProbsAll(batch.histories, rows).logp.arraySync()) as number[][];
  const T = Math.max(...rows.map((r) => r.length)) + 1;
  let sum = 0,
    n = 0;
  rows.forEach((inp, r) =>
    stateChildren(trie, vocab, inp).forEach((kids, t) => {
      sum += kids!.reduce((a2, id) => a2 + Math.exp(lp[r * T + t][id]), 0);
      n++;
    }),
  );
  assert.ok(Math.abs(eval_.mass - sum / n) < 1e-5, `on-tree mass ${eval_.mass} vs by hand ${sum / n}`);
  assert.ok(eval_.mass > 0 && eval_.mass < 1, `an untrained policy leaves the tree: mass ${eval_.mass}`);
  assert.deepEqual(
    stateChildren(trie, vocab, [vocab.toPolicy(5)]).map((k) => k!.map((id) => vocab.toTokenizer(id)).sort()),
    [
      [5, 7, 9],
      [6, 7, 9],
    ],
    'root: a, c (+ terminal); after a: b, c (+ terminal)',
  );
  const c = val(undefined, true);
  assert.ok(c.gfn !== eval_.gfn && Number.isFinite(c.gfn), `children-only changes L_GFN (${eval_.gfn} → ${c.gfn})`);
  assert.equal(c.mass, eval_.mass, 'on-tree mass is reported either way');
  pol.dispose();
});

/** A tiny recommend-mode config on Movies_and_TV: a 16-dim policy, 96 training rows, 16 validation / 40 test rows. */
function moviesConfig(extra: Record<string, unknown>): Record<string, any> {
  return tinyRecommendConfig(shared('amazon', 'Movies_and_TV'), { train: 96, valid: 16, test: 40 }, 3, {
    lrSchedule: 'linear',
    epochs: 2,
    batchSize: 32,
    warmupSteps: 2,
    gfnSamplesPerBatch: 4,
    seed: 5,
    mechanismRows: 50,
    ...extra,
  });
}

const dir = mkdtempSync(join(tmpdir(), 'fl-protocol-'));
async function run(config: Record<string, any>) {
  const events: RunEvent[] = [];
  const r = await runSingle({
    configPath: join(dir, 'x.flowloop.json'),
    configObject: config,
    outDir: join(dir, 'runs'),
    onEvent: (e) => events.push(e),
  });
  assert.equal(r.status, 'finished', `run failed: ${r.error}`);
  return { ...r, events };
}
const metricValues = (events: RunEvent[], name: string) =>
  events.filter((e) => e.type === 'metric' && (e as any).name === name).map((e) => (e as any).value as number);

test('SFT run decays the LR linearly to 0 over the planned steps; Flower initialised from it: per-term gradient norms, combined validation loss, mechanism in metrics.json', async () => {
  const sft = await run(moviesConfig({ objective: 'sft', lr: 0.01 }));
  const lrs = metricValues(sft.events, 'train/lr');
  assert.equal(lrs.length, 6, '3 steps × 2 epochs');
  assert.deepEqual(
    lrs.map((v) => +v.toFixed(6)),
    [0.005, 0.01, 0.01, 0.0075, 0.005, 0.0025],
    'warmup 2, then linear towards 0 at step 6 (Hugging Face: the last update has lr/4 here)',
  );
  assert.equal(sft.metrics.personalization, 'none', 'sft has no GFN term to personalise');
  // a score-file p_u (docs/methods.md §A5) keeps this test free of a SASRec training
  const scores = join(dir, 'scores.jsonl');
  const { subsetIndices } = await import('../../core/flower/setup');
  writeFileSync(
    scores,
    subsetIndices(21937, 96, 5)
      .map((row) => JSON.stringify({ row, scores: Array.from({ length: 2653 }, (_, i) => ((i * 7 + row) % 13) / 4) }))
      .join('\n'),
  );
  const fl = await run(moviesConfig({ objective: 'flower', theta: 0.9, init: sft.runDir, personalization: { scores }, patience: 1 }));
  assert.match(String(fl.metrics.init), /checkpoints\/epoch-2$/, `init from the SFT run's best epoch: ${fl.metrics.init}`);
  assert.ok(fl.events.some((e) => e.type === 'log' && /initialised from .*\(sft, epoch 2\); fresh optimizer/.test((e as any).message)));
  const gS = metricValues(fl.events, 'train/grad_norm_sft'),
    gG = metricValues(fl.events, 'train/grad_norm_gfn'),
    g = metricValues(fl.events, 'train/grad_norm');
  assert.equal(gS.length, g.length);
  assert.equal(gG.length, g.length);
  g.forEach((v, i) =>
    assert.ok(v <= gS[i] + gG[i] + 1e-6 && v >= Math.abs(gS[i] - gG[i]) - 1e-6, `step ${i}: |∇| ${v} vs terms ${gS[i]}, ${gG[i]}`),
  );
  const mass = metricValues(fl.events, 'train/on_tree_mass');
  assert.ok(mass.length === g.length && mass.every((m) => m > 0 && m <= 1), `on-tree mass per step: ${mass}`);
  const ep = fl.metrics.epochs as any[];
  for (const e of ep)
    assert.ok(
      Math.abs(e.validLoss - (0.9 * e.validNll + 0.1 * e.validGfn)) < 1e-6 * Math.max(1, e.validLoss),
      `epoch ${e.epoch}: valid loss = θ·NLL + (1−θ)·GFN`,
    );
  const best = ep.reduce((a, e) => (e.validLoss < a.validLoss ? e : a));
  assert.equal(fl.metrics.bestEpoch, best.epoch, 'best epoch by the combined validation loss');
  const m = fl.metrics.mechanism as any;
  assert.equal(m.sampled.rows, 50);
  assert.equal(m.sampled.gs.length, 8);
  assert.ok(
    Math.abs(m.sampled.gs.reduce((a: number, x: number) => a + x, 0) - 1) < 1e-9,
    'sampled group shares sum to 1 (every tree title is a training title)',
  );
  assert.ok(m.sampled.onTreeMass > 0 && m.sampled.onTreeMass <= 1);
  assert.equal(m.oracle.personalization, 'none', 'a score file has no p_u for test users: the oracle says it is unpersonalised');
  assert.equal(m.oracle['jaccard@10'], 1, 'the unpersonalised target gives everyone the same list');
  assert.ok(m['jaccard@10'] >= 0 && m['jaccard@10'] <= 1);
});

test('resolveInit: a run folder resolves to its best epoch (metrics.json), else its latest checkpoint', () => {
  const run_ = join(dir, 'fake-run');
  for (const e of [1, 2, 3]) {
    mkdirSync(join(run_, 'checkpoints', `epoch-${e}`), { recursive: true });
    writeFileSync(join(run_, 'checkpoints', `epoch-${e}`, 'manifest.json'), '{}');
  }
  assert.equal(resolveInit(run_), join(run_, 'checkpoints', 'epoch-3'));
  writeFileSync(join(run_, 'metrics.json'), JSON.stringify({ bestEpoch: 2 }));
  assert.equal(resolveInit(run_), join(run_, 'checkpoints', 'epoch-2'));
  assert.equal(resolveInit(join(run_, 'checkpoints', 'epoch-1')), join(run_, 'checkpoints', 'epoch-1'));
});

test('personalization default (docs/methods.md §A5): div on recommendation data, a SASRec trained by the run when none is given; none for sft and without history', () => {
  assert.deepEqual(
    [
      defaultPersonalizationMode({}),
      defaultPersonalizationMode({}, 'distribution'),
      defaultPersonalizationMode({ scorer: 'm' }, 'distribution'),
    ],
    ['div', 'none', 'div'],
  );
  const c: any = { dataset: 'Movies_and_TV', objective: 'flower', personalization: {} };
  assert.equal(resolveFlowerDefaults(c).personalizationFrom, 'default (docs/methods.md §A5): div with a SASRec this run trains');
  assert.equal(c.personalization.mode, 'div');
  const s: any = { dataset: 'Movies_and_TV', objective: 'sft', personalization: {} };
  resolveFlowerDefaults(s);
  assert.equal(s.personalization.mode, 'none');
});

test("mechanism: pair Jaccard and the reward target's top-K (div: log P*(i)/s_ui per user)", async () => {
  assert.equal(
    meanPairJaccard(
      [
        ['a', 'b'],
        ['a', 'b'],
      ],
      10,
      1,
    ),
    1,
  );
  assert.ok(
    Math.abs(
      meanPairJaccard(
        [
          ['a', 'b'],
          ['b', 'c'],
        ],
        10,
        1,
      ) -
        1 / 3,
    ) < 1e-12,
  );
  const { trie } = tiny();
  // P* ∝ [2, 1, 1, 3] for ab, ac, c, abc; items 0..3 are those titles
  const none = await oracleLists(trie, [[0], [1]], 'none', undefined, (t) => [t], 2);
  assert.deepEqual(none, [
    ['abc', 'ab'],
    ['abc', 'ab'],
  ]);
  // user 0 puts all p_u on "c" (item 2): s_c = (1 − 1/4)/1 + 1 = 1.75, the others s = 0.75; log P*/s ranks c first only if its ratio is highest
  const pu = {
    description: 'fixed',
    byHistory: true,
    pu: async (_r: number[], h: number[][]) => h.map(([i]) => Float64Array.from([0, 1, 2, 3], (j) => (j === i ? 1 : 0))),
  };
  const lists = await oracleLists(trie, [[2], [1]], 'div', pu, (t) => [t], 4);
  const P = [2, 1, 1, 3].map((r) => Math.log(r / 7));
  const expect = (fav: number) =>
    [0, 1, 2, 3]
      .map((t) => [t, P[t] / (t === fav ? 1.75 : 0.75)] as const)
      .sort((a, b) => b[1] - a[1])
      .map(([t]) => trie.titles[t]);
  assert.deepEqual(lists, [expect(2), expect(1)]);
  assert.notDeepEqual(lists[0], lists[1], 'personalised targets differ between users');
});

test('--repeat: mean ± std over seeds per baseline row (extra rows included), failed seeds left out and counted', () => {
  assert.deepEqual(meanStd([1, 2, 3]), { mean: 2, std: 1, n: 3 });
  assert.deepEqual(meanStd([5]), { mean: 5, std: 0, n: 1 });
  const mk = (seed: number, ndcg: number, status = 'finished') => {
    const d = join(dir, `rep-${seed}-${status}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(
      join(d, 'metrics.json'),
      JSON.stringify({ 'ndcg@10': ndcg, 'temp/ndcg@10': ndcg / 2, mechanism: { sampled: { dgu: ndcg * 10 } } }),
    );
    writeFileSync(join(d, 'run.json'), JSON.stringify({ status }));
    return [{ baseline: BASELINES.flower[0], status: status as 'finished', runDir: d }];
  };
  const s = repeatSummary([1, 2, 3], [mk(1, 0.1), mk(2, 0.3), mk(3, 9, 'failed')]);
  const sft = s.rows.find((r) => r.name === 'sft')!;
  assert.equal(sft.finished, 2);
  assert.equal(sft.runs.length, 3);
  assert.ok(Math.abs(sft.metrics['ndcg@10'].mean - 0.2) < 1e-12 && Math.abs(sft.metrics['ndcg@10'].std - Math.SQRT2 * 0.1) < 1e-12);
  assert.ok(Math.abs(s.rows.find((r) => r.name === 'sft temp')!.metrics['ndcg@10'].mean - 0.1) < 1e-12);
  const table = repeatComparison('flower', s).join('\n');
  assert.match(table, /seeds finished \(of 3\)/);
  assert.match(table, /sft\s+2\s+0\.2000 ± 0\.1414/);
  assert.match(table, /mechanism\.sampled\.dgu/);
});

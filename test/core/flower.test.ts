import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSingle } from '../../core/experiment/runner';
import type { RunEvent } from '../../core/experiment/events';
import { shared } from '../../harness/paths';
import { subsetIndices } from '../../core/flower/setup';
import { tinyFlowerConfig, tinyRecommendConfig } from './tinyFlower';

const dir = mkdtempSync(join(tmpdir(), 'fl-flower-'));
const titles = join(dir, 'titles.json');
writeFileSync(titles, JSON.stringify({ 'ab c': 8, 'ab d': 4, b: 2, ca: 1, cab: 1 }));
const configPath = join(dir, 'tiny.flowloop.json');

/**
 * The tiny distribution-mode config (test/core/tinyFlower.ts). Constant LR after warmup: a linear decay is planned
 * from `epochs`, so a run resumed with more epochs than its first leg would follow another schedule than the unbroken run.
 */
const tiny = tinyFlowerConfig;

async function run(config: Record<string, any>) {
  const events: RunEvent[] = [];
  const r = await runSingle({ configPath, configObject: config, outDir: join(dir, 'runs'), onEvent: (e) => events.push(e) });
  assert.equal(r.status, 'finished', `run failed: ${r.error}`);
  return { ...r, events };
}

test('flower run emits each loss term per step, lr, trie snapshots before training and after each epoch, checkpoints', async () => {
  const r = await run(tiny());
  const names = new Set(r.events.filter((e) => e.type === 'metric').map((e) => (e as any).name));
  for (const n of ['train/sft', 'train/gfn', 'train/total', 'train/lr', 'fit/kl(target||gen)'])
    assert.ok(names.has(n), `missing metric ${n} (have ${[...names].join(', ')})`);
  const snaps = r.events.filter((e) => e.type === 'trie-snapshot') as any[];
  assert.deepEqual(
    snaps.map((s) => s.checkpoint),
    ['epoch 0', 'epoch 1', 'epoch 2'],
  );
  assert.ok(
    snaps[0].nodes.every((n: any) => typeof n.policy === 'number' && n.policy >= 0 && n.policy <= 1 + 1e-6),
    'policy probabilities in [0,1]',
  );
  assert.ok(existsSync(join(r.runDir, 'checkpoints', 'epoch-2', 'weights.bin')));
  assert.ok(existsSync(join(r.runDir, 'distribution.svg')));
  for (const k of ['kl(target||gen)', 'kl(gen||target)', 'js', 'coverage', 'exact/kl(target||gen)'])
    assert.equal(typeof r.metrics[k], 'number', `metrics.${k}`);
});

test('same seed repeats a run exactly; resuming from the epoch-1 checkpoint gives the same result as an unbroken run', async () => {
  const a = await run(tiny());
  const b = await run(tiny());
  assert.equal(a.metrics['exact/kl(target||gen)'], b.metrics['exact/kl(target||gen)']);
  const first = await run(tiny({ epochs: 1 }));
  const resumed = await run(tiny({ resume: join(first.runDir, 'checkpoints', 'epoch-1') }));
  const tot = (r: typeof a) =>
    r.events.filter((e) => e.type === 'metric' && (e as any).name === 'train/total').map((e) => (e as any).value);
  assert.deepEqual(tot(first).concat(tot(resumed)), tot(a), 'per-step losses of epoch 1 + resumed epoch 2 equal the unbroken run');
  assert.ok(
    Math.abs((resumed.metrics['exact/kl(target||gen)'] as number) - (a.metrics['exact/kl(target||gen)'] as number)) < 1e-9,
    `resumed ${resumed.metrics['exact/kl(target||gen)']} vs unbroken ${a.metrics['exact/kl(target||gen)']}`,
  );
  const c = await run(tiny({ seed: 8 }));
  assert.notEqual(c.metrics['exact/kl(target||gen)'], a.metrics['exact/kl(target||gen)']);
});

test('recommend mode on Movies_and_TV (tiny subset, personalization from a score file: div by default, docs/methods.md §A5): recommendations.jsonl rows of top-K titles, scored metrics, an extra D3 decoding', async () => {
  const ds = shared('amazon', 'Movies_and_TV');
  // precomputed p_u scores (docs/methods.md §A5 "div") for every training row: deterministic pseudo-logits over item ids 0..2652
  const scores = join(dir, 'scores.jsonl');
  const rows = subsetIndices(21937, 32, 1); // the training rows a maxTrainRows=32, seed=1 run uses
  writeFileSync(
    scores,
    rows.map((row) => JSON.stringify({ row, scores: Array.from({ length: 2653 }, (_, i) => ((i * 7 + row) % 13) / 4) })).join('\n'),
  );
  const r = await run(
    tinyRecommendConfig(ds, { train: 32, valid: 16, test: 4 }, 4, {
      personalization: { scores }, // no mode: div is the default when a score file is given
      objective: 'flower',
      theta: 0.9,
      validDecodeRows: 3,
      epochs: 1,
      batchSize: 16,
      gfnSamplesPerBatch: 4,
      alsoDecode: [{ name: 'd3', lengthPenalty: 0 }],
      snapshotNodes: 10,
      snapshotHistories: 2,
      checkpoints: false,
      seed: 1,
    }),
  );
  const lines = readFileSync(join(r.runDir, 'recommendations.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.row),
    [0, 1, 2, 3],
  );
  assert.ok(
    lines.every((l) => l.titles.length === 4 && new Set(l.titles).size === 4),
    'four distinct titles per row',
  );
  for (const k of ['ndcg@10', 'hr@10', 'dgu', 'mgu', 'entropy', 'ttr', 'd3/ndcg@10'])
    assert.equal(typeof r.metrics[k], 'number', `metrics.${k}`);
  assert.ok(existsSync(join(r.runDir, 'recommendations-d3.jsonl')));
  const names = new Set(r.events.filter((e) => e.type === 'metric').map((e) => (e as any).name));
  for (const n of ['valid/nll', 'valid/ndcg@10', 'valid/dgu', 'train/gfn']) assert.ok(names.has(n), `missing metric ${n}`);
  assert.ok(
    r.events.some((e) => e.type === 'log' && /personalization div: p_u from precomputed scores/.test((e as any).message)),
    'personalization used',
  );
  const resolved = JSON.parse(readFileSync(join(r.runDir, 'config.json'), 'utf8'));
  assert.equal(resolved.personalization.mode, 'div', 'resolved personalization mode recorded in config.json');
  assert.equal(r.metrics.personalization, 'div');
});

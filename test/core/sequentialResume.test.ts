/**
 * `resume` for kind `sequential` (docs/design.md: "a run can be resumed from its last checkpoint"): a run cancelled
 * after epoch 2 and resumed from its run folder continues at epoch 3 and ends with exactly the weights,
 * validation curve and test metrics of an uninterrupted run of the same config and seed. Also: the
 * LastFM-family defaults (docs/methods.md §A8 / docs/methods.md §C: batch 256, no weight decay) and the resume errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { shared } from '../../harness/paths';
import { tempDir } from '../../harness/tempDir';
import { runSequentialExperiment } from '../../core/models/experiment';
import { resolveResume } from '../../core/models/checkpoint';
import { CancelledError } from '../../core/experiment/context';
import { recordingContext } from './recordingContext';

const fakeContext = recordingContext;

const base = () => ({
  kind: 'sequential',
  model: 'sasrec',
  dataset: shared('lastfm'),
  epochs: 4,
  maxTrainRows: 640,
  maxEvalRows: 60,
  hidden: 8,
  patience: 0,
  checkpoints: 'every',
  device: 'wasm',
  negatives: 2,
  batchSize: 128,
});
const valid = (events: any[]) => events.filter((e) => e.type === 'metric' && e.name === 'valid/ndcg@20').map((e) => [e.epoch, e.value]);
const first = (a: Buffer, b: Buffer) => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
};

test('a cancelled run resumed from its folder continues at epoch 3 and ends bit-identical to an uninterrupted run', async (t) => {
  const root = tempDir(t, 'flowloop-seq-resume-');
  const dirs = { full: join(root, 'full'), cut: join(root, 'cut'), resumed: join(root, 'resumed'), fromEpoch1: join(root, 'from1') };
  Object.values(dirs).forEach((d) => mkdirSync(d));
  const full = fakeContext(base(), dirs.full);
  const mFull = await runSequentialExperiment(full.ctx);
  assert.equal(mFull.epochsRun, 4);

  // the same run, cancelled once epoch 2 is validated (the next step sees the signal)
  const ac = new AbortController();
  const cut = fakeContext(base(), dirs.cut, ac.signal, (e) => {
    if (e.type === 'metric' && e.name === 'valid/ndcg@20' && e.epoch === 2) ac.abort();
  });
  await assert.rejects(runSequentialExperiment(cut.ctx), CancelledError);
  assert.deepEqual(valid(cut.events), valid(full.events).slice(0, 2), 'the first two epochs match the uninterrupted run');
  assert.ok(!existsSync(join(dirs.cut, 'checkpoints', 'epoch-3')), 'no epoch 3 checkpoint after the cancel');
  assert.equal(resolveResume(dirs.cut), join(dirs.cut, 'checkpoints', 'last'));

  // resume from the run folder
  const res = fakeContext({ ...base(), resume: dirs.cut }, dirs.resumed);
  const mRes = await runSequentialExperiment(res.ctx);
  assert.deepEqual(
    valid(res.events).map((v) => v[0]),
    [3, 4],
    'the resumed run validates epochs 3 and 4 only',
  );
  const steps = Math.ceil(640 / 128);
  // train/loss events (step 1 and every 10th): the resumed run's step counter goes on from 2 epochs' steps
  const loss = (ev: any[]) => ev.filter((e) => e.type === 'metric' && e.name === 'train/loss').map((e) => [e.step, e.epoch, e.value]);
  assert.deepEqual(
    loss(res.events),
    loss(full.events).filter(([step]) => step > 2 * steps),
    'train/loss events of epochs 3-4',
  );
  assert.deepEqual(
    loss(res.events).map(([step, epoch]) => [step, epoch]),
    [[20, 4]],
    JSON.stringify(loss(res.events)),
  );
  assert.equal(mRes.resumedAfterEpoch, 2);
  assert.equal(mRes.epochsRun, 4);
  assert.deepEqual(valid(res.events), valid(full.events).slice(2), 'validation curve of epochs 3-4');
  for (const rel of [
    'checkpoints/last/weights.bin',
    'checkpoints/last/optimizer.bin',
    'checkpoints/epoch-4/weights.bin',
    'model/weights.bin',
  ]) {
    const a = readFileSync(join(dirs.full, rel)),
      b = readFileSync(join(dirs.resumed, rel));
    assert.equal(first(a, b), -1, `${rel}: resumed differs from uninterrupted at byte ${first(a, b)} (of ${a.length})`);
  }
  for (const k of Object.keys(mFull).filter((k) => k.startsWith('test/') || k === 'bestEpoch')) assert.equal(mRes[k], mFull[k], k);

  // resume from an earlier epoch's checkpoint folder: the same end point
  const from1 = fakeContext({ ...base(), resume: join(dirs.full, 'checkpoints', 'epoch-1') }, dirs.fromEpoch1);
  await runSequentialExperiment(from1.ctx);
  assert.deepEqual(
    valid(from1.events).map((v) => v[0]),
    [2, 3, 4],
  );
  const a = readFileSync(join(dirs.full, 'checkpoints/last/weights.bin')),
    b = readFileSync(join(dirs.fromEpoch1, 'checkpoints/last/weights.bin'));
  assert.equal(first(a, b), -1, `resumed after epoch 1: weights differ at byte ${first(a, b)}`);
});

test('resume errors: a weights-only folder, another architecture, a torn checkpoint; LastFM defaults are batch 256 / no weight decay', async (t) => {
  const root = tempDir(t, 'flowloop-seq-resume-err-');
  const run = join(root, 'run');
  mkdirSync(run);
  const { ctx } = fakeContext({ ...base(), epochs: 1, batchSize: undefined, checkpoints: 'best' }, run);
  const m = await runSequentialExperiment(ctx);
  assert.deepEqual(
    m.resolved,
    { batchSize: 256, weightDecay: 0, ks: [1, 3, 5, 10, 20], validMetric: 'ndcg@20' },
    JSON.stringify(m.resolved),
  );
  assert.equal(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).batchSize, 256);

  assert.throws(() => resolveResume(join(run, 'model')), /no training state.*"init"/);
  const other = join(root, 'other');
  mkdirSync(other);
  await assert.rejects(
    runSequentialExperiment(fakeContext({ ...base(), hidden: 16, resume: run }, other).ctx),
    /checkpoint is .*8.*asks for .*16/,
  );
  await assert.rejects(
    runSequentialExperiment(fakeContext({ ...base(), init: join(run, 'model'), resume: run }, other).ctx),
    /exclude each other/,
  );
  // a weights.bin from another epoch beside the manifest (an interrupted overwrite) is refused
  const w = readFileSync(join(run, 'checkpoints/last/weights.bin'));
  w[100] ^= 1;
  writeFileSync(join(run, 'checkpoints/last/weights.bin'), w);
  await assert.rejects(
    runSequentialExperiment(fakeContext({ ...base(), resume: run }, other).ctx),
    /weights\.bin do not belong to this manifest/,
  );
});

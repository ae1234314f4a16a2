import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shared } from '../../harness/paths';
import { readCandidates } from '../../core/data/candidates';
import { loadScorer } from '../../core/models/load';
import { LocatedError } from '../../core/experiment/context';

test('ONNX path (onnxruntime-node) reproduces sasrec_eval_scores within 1e-4 for all 122 users', async () => {
  const rows = readCandidates(shared('lastfm', 'test_candidates.jsonl'));
  const scorer = await loadScorer(shared('models', 'afl_lastfm_sasrec'), { engine: 'onnx' });
  assert.match(scorer.description, /ONNX/);
  assert.equal(scorer.numItems, 4606);
  const scores = await scorer.scoreCandidates(
    rows.map((r) => r.seq),
    rows.map((r) => r.cans),
  );
  let worst = 0,
    at = '';
  rows.forEach((r, b) =>
    r.sasrecEvalScores!.forEach((v, j) => {
      const e = Math.abs(scores[b][j] - v);
      if (e > worst) {
        worst = e;
        at = `user ${r.id} candidate ${j}: ${scores[b][j]} vs ${v}`;
      }
    }),
  );
  assert.ok(worst < 1e-4, `max |diff| ${worst} at ${at}`);
  // a batch of one user comes back with the same shape as a full batch
  const one = await scorer.scoreAll([rows[0].seq]);
  assert.equal(one.length, 1);
  assert.equal(one[0].length, 4606);
  scorer.dispose();
});

test('tfjs and ONNX engines agree on full-catalogue scores of imported llara_steam_sasrec', async () => {
  const dir = shared('models', 'llara_steam_sasrec');
  const a = await loadScorer(dir, { engine: 'tfjs', device: 'cpu' });
  const b = await loadScorer(dir, { engine: 'onnx' });
  assert.equal(a.numItems, b.numItems);
  const hist = [[1, 2, 3], [5], [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]];
  const sa = await a.scoreAll(hist),
    sb = await b.scoreAll(hist);
  let worst = 0;
  for (let r = 0; r < hist.length; r++) for (let i = 0; i < a.numItems; i++) worst = Math.max(worst, Math.abs(sa[r][i] - sb[r][i]));
  assert.ok(worst < 1e-4, `tfjs vs onnx max |diff| ${worst}`);
  a.dispose();
  b.dispose();
});

test('loadScorer errors are located: missing folder, missing engine file, corrupt manifest, out-of-range ids', async () => {
  await assert.rejects(loadScorer('/nonexistent/model'), (e: unknown) => e instanceof LocatedError && e.where === '/nonexistent/model');
  const dir = mkdtempSync(join(tmpdir(), 'flowloop-scorer-'));
  try {
    await assert.rejects(loadScorer(dir, { engine: 'onnx' }), /no model\.onnx/);
    writeFileSync(join(dir, 'manifest.json'), '{"tensors": [');
    copyFileSync(shared('models', 'afl_lastfm_sasrec', 'weights.bin'), join(dir, 'weights.bin'));
    await assert.rejects(
      loadScorer(dir, { engine: 'tfjs', device: 'cpu' }),
      (e: unknown) => e instanceof LocatedError && /manifest\.json$/.test(e.where) && /not valid JSON/.test(e.message),
    );
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({
        dtype: 'float32',
        byte_order: 'little',
        tensors: [{ name: 's_fc.weight', shape: [10, 64], offset_bytes: 1e9, num_elements: 640 }],
      }),
    );
    await assert.rejects(
      loadScorer(dir, { engine: 'tfjs', device: 'cpu' }),
      (e: unknown) => e instanceof LocatedError && e.path === 'tensors[0]',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const s = await loadScorer(shared('models', 'afl_lastfm_sasrec'), { engine: 'tfjs', device: 'cpu' });
  await assert.rejects(s.scoreCandidates([[1]], [[4606]]), /candidates\[0\]\[0\]: item id 4606 outside 0\.\.4605/);
  s.dispose();
});

test('ONNX execution provider follows `device`: cpu/auto run on the CPU provider (labelled so); gpu asks for CUDA and, without its provider library, fails clearly with how to install it', async () => {
  const dir = shared('models', 'afl_lastfm_sasrec');
  for (const device of ['cpu', 'auto', undefined] as const) {
    const s = await loadScorer(dir, { engine: 'onnx', device });
    assert.match(s.description, /\(onnxruntime-node, cpu\)$/, `device ${device}: ${s.description}`);
    s.dispose();
  }
  const { existsSync, readdirSync } = await import('node:fs');
  const { dirname } = await import('node:path');
  const ortBin = dirname(require.resolve('onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node'));
  const hasCuda = existsSync(ortBin) && readdirSync(ortBin).some((f) => f.startsWith('libonnxruntime_providers_cuda'));
  const { policyToOnnx, OnnxStepPolicy } = await import('../../core/models/onnx');
  if (hasCuda) {
    // a machine where ONNXRUNTIME_NODE_INSTALL=cuda12 fetched the provider: the label says CUDA
    const s = await loadScorer(dir, { engine: 'onnx', device: 'gpu' });
    assert.match(s.description, /CUDA execution provider/);
    s.dispose();
    return;
  }
  const clear = (e: unknown) =>
    e instanceof LocatedError &&
    /device "gpu": onnxruntime-node's CUDA execution provider cannot load/.test(e.message) &&
    /ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/.test(e.message) &&
    /"cpu" or "auto"/.test(e.message);
  await assert.rejects(loadScorer(dir, { engine: 'onnx', device: 'gpu' }), clear);
  // the Flower policy's ONNX step policy takes the same route (tiny random policy, 1 layer)
  const cfg = { heads: 1, maxHistory: 0, padId: 0, bosId: 1 };
  const D = 4,
    V = 5;
  const w = (shape: number[]) => ({
    shape,
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => ((i * 37) % 11) / 50 - 0.1),
  });
  const weights = new Map(
    Object.entries({
      tokEmb: w([V, D]),
      posEmb: w([4, D]),
      'l0.ln1.g': w([D]),
      'l0.ln1.b': w([D]),
      'l0.wqkv': w([D, 3 * D]),
      'l0.bqkv.b': w([3 * D]),
      'l0.wo': w([D, D]),
      'l0.bo.b': w([D]),
      'l0.ln2.g': w([D]),
      'l0.ln2.b': w([D]),
      'l0.w1': w([D, 8]),
      'l0.b1.b': w([8]),
      'l0.w2': w([8, D]),
      'l0.b2.b': w([D]),
      'lnf.g': w([D]),
      'lnf.b': w([D]),
      headW: w([D, V]),
      'head.b': w([V]),
    }),
  );
  const bytes = policyToOnnx(weights, cfg);
  const cpu = await OnnxStepPolicy.create(bytes, cfg);
  assert.equal(cpu.provider, 'cpu');
  const lp = await cpu.nextLogProbs([[]], [[2]]);
  assert.ok(Math.abs(lp[0].reduce((a, x) => a + Math.exp(x), 0) - 1) < 1e-5, 'log-probs normalised');
  await cpu.dispose();
  await assert.rejects(OnnxStepPolicy.create(bytes, cfg, { device: 'gpu' }), clear);
});

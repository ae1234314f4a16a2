/**
 * ONNX export: the graph writer and SASRec export, run in onnxruntime-node and compared
 * with the PyTorch reference scores (sasrec_eval_scores) and with Flowloop's own tfjs SASRec.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { shared } from '../../harness/paths';
import { readWeights } from '../../core/models/weights';
import { sasrecToOnnx } from '../../core/models/onnx/sasrec';
import { OnnxGraph, DT } from '../../core/models/onnx/graph';
import { Rng } from '../../core/util/random';

type Ort = typeof import('onnxruntime-node');
const ort = (): Promise<Ort> => import('onnxruntime-node');

async function runSasrec(bytes: Uint8Array, seqs: number[][], lens: number[], L: number): Promise<Float32Array> {
  const o = await ort();
  const s = await o.InferenceSession.create(bytes);
  try {
    const seq = new o.Tensor(
      'int64',
      BigInt64Array.from(seqs.flat(), (v) => BigInt(v)),
      [seqs.length, L],
    );
    const len = new o.Tensor(
      'int64',
      BigInt64Array.from(lens, (v) => BigInt(v)),
      [lens.length],
    );
    return (await s.run({ seq, len })).logits.data as Float32Array;
  } finally {
    await s.release();
  }
}

test('graph writer: a small graph serializes and runs in onnxruntime-node', async () => {
  const g = new OnnxGraph('tiny');
  const x = g.input('x', DT.FLOAT, ['batch', 3]);
  const y = g.node('Gemm', [x, g.float('w', [1, 2, 3, 4, 5, 6], [3, 2]), g.float('b', [0.5, -1], [2])]);
  g.output(g.node('Relu', [y]), 'y', DT.FLOAT, ['batch', 2]);
  const o = await ort();
  const s = await o.InferenceSession.create(g.toBytes());
  const out = await s.run({ x: new o.Tensor('float32', Float32Array.from([1, 0, -1, 2, 1, 0]), [2, 3]) });
  // [1,0,-1]·W = [1-5, 2-6] = [-4,-4] + b -> relu 0,0 ; [2,1,0]·W = [2+3, 4+4] = [5, 8] + b = [5.5, 7]
  assert.deepEqual(Array.from(out.y.data as Float32Array), [0, 0, 5.5, 7]);
  await s.release();
  assert.throws(() => g.node('Add', [x, 'nope']), /input "nope" is not defined/);
});

test('exported afl_lastfm_sasrec reproduces the PyTorch sasrec_eval_scores of all LastFM test users within 1e-4', async () => {
  const { arrays } = readWeights(shared('models', 'afl_lastfm_sasrec'));
  const bytes = sasrecToOnnx(arrays);
  const rows = readFileSync(shared('lastfm', 'test_candidates.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { seq: number[]; len_seq: number; cans: number[]; sasrec_eval_scores: number[] });
  assert.equal(rows.length, 122);
  const N = arrays.get('s_fc.weight')!.shape[0];
  const logits = await runSasrec(
    bytes,
    rows.map((r) => r.seq),
    rows.map((r) => r.len_seq),
    10,
  );
  assert.equal(logits.length, rows.length * N);
  let worst = 0,
    where = '';
  rows.forEach((r, b) =>
    r.cans.forEach((c, k) => {
      const d = Math.abs(logits[b * N + c] - r.sasrec_eval_scores[k]);
      if (d > worst) {
        worst = d;
        where = `row ${b} candidate ${c}: ours ${logits[b * N + c]}, PyTorch ${r.sasrec_eval_scores[k]}`;
      }
    }),
  );
  assert.ok(worst <= 1e-4, `max |diff| ${worst} at ${where}`);
});

test('export of a freshly built Flowloop SASRec equals its tfjs forward within 1e-4', async () => {
  const { initBackend } = await import('../../core/tensor');
  const { SASRec } = await import('../../core/models/sasrec');
  const { tf } = await initBackend('wasm');
  const cfg = { model: 'sasrec' as const, numItems: 57, maxLen: 8, hidden: 16, dropout: 0 };
  const model = new SASRec(cfg, new Rng(11));
  const rng = new Rng(12);
  // As after training, LayerNorm parameters away from (1, 0): at init Σ LN1(x) is 0 up to rounding, so
  // docs/methods.md §C's row factor sign(|Σ q_i|) would be decided by float noise and differ between engines.
  const arrays = new Map(model.toArrays().map((a) => [a.name, a]));
  for (const a of arrays.values()) if (/ln_|layer_norm/.test(a.name)) a.data = a.data.map((v) => v + 0.3 * rng.normal());
  model.loadArrays(arrays, 'test');
  const B = 9;
  const lens = Array.from({ length: B }, () => 1 + rng.int(cfg.maxLen));
  const seqs = lens.map((n) => Array.from({ length: cfg.maxLen }, (_, i) => (i < n ? rng.int(cfg.numItems) : cfg.numItems)));
  const want = tf.tidy(
    () =>
      model
        .logitsAll(model.represent(tf.tensor2d(seqs.flat(), [B, cfg.maxLen], 'int32'), tf.tensor1d(lens, 'int32'), false))
        .dataSync() as Float32Array,
  );
  const bytes = sasrecToOnnx(new Map(model.toArrays().map((a) => [a.name, a])));
  const got = await runSasrec(bytes, seqs, lens, cfg.maxLen);
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-4, `logit ${i}: onnx ${got[i]} vs tfjs ${want[i]}`);
  model.dispose();
});

test('SASRec export names a missing or misshapen weight', () => {
  const { arrays } = readWeights(shared('models', 'afl_lastfm_sasrec'));
  const missing = new Map(arrays);
  missing.delete('mh_attn.linear_k.bias');
  assert.throws(() => sasrecToOnnx(missing), /weight "mh_attn.linear_k.bias" missing/);
  const bad = new Map(arrays);
  bad.set('s_fc.bias', { name: 's_fc.bias', shape: [3], data: new Float32Array(3) });
  assert.throws(() => sasrecToOnnx(bad), /s_fc.bias has shape \[3\], expected \[4606\]/);
});

test('exported Flower policy gives the tfjs TransformerPolicy next-token log-probs within 1e-4 (ragged histories and prefixes)', async () => {
  const { initBackend } = await import('../../core/tensor');
  const { TransformerPolicy } = await import('../../core/models/policy');
  const { policyToOnnx, OnnxStepPolicy } = await import('../../core/models/onnx/policy');
  await initBackend('wasm');
  for (const maxHistory of [4, 0]) {
    const cfg = {
      vocabSize: 41,
      numItems: 30,
      dModel: 16,
      layers: 2,
      heads: 2,
      ffn: 24,
      maxHistory,
      maxTokens: 9,
      dropout: 0,
      padId: 0,
      bosId: 1,
    };
    const policy = new TransformerPolicy(cfg, 3);
    const rng = new Rng(21);
    const rows = 7;
    const histories = Array.from({ length: rows }, () => Array.from({ length: rng.int(7) }, () => rng.int(cfg.numItems)));
    const prefixes = Array.from({ length: rows }, () => Array.from({ length: rng.int(6) }, () => 2 + rng.int(cfg.vocabSize - 2)));
    const want = await policy.nextLogProbs(histories, prefixes);
    const shapes = TransformerPolicy.shapes(cfg);
    const snap = await policy.snapshotWeights();
    const weights = new Map([...snap].map(([n, data]) => [n, { shape: shapes[n], data }]));
    const onnx = await OnnxStepPolicy.create(policyToOnnx(weights, cfg), cfg);
    const got = await onnx.nextLogProbs(histories, prefixes);
    assert.equal(got.length, rows);
    for (let b = 0; b < rows; b++) {
      assert.equal(got[b].length, cfg.vocabSize);
      for (let v = 0; v < cfg.vocabSize; v++)
        assert.ok(
          Math.abs(got[b][v] - want[b][v]) <= 1e-4,
          `row ${b} (history ${histories[b].length}, prefix ${prefixes[b].length}) token ${v}: onnx ${got[b][v]} vs tfjs ${want[b][v]}`,
        );
    }
    await onnx.dispose();
    policy.dispose();
  }
});

test('flowloop export-onnx writes a loadable model from a SASRec weights folder and from a Flower checkpoint', async () => {
  const { main } = await import('../../core/cli/exportOnnx');
  const { mkdtempSync, writeFileSync, existsSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const tmp = mkdtempSync(join(tmpdir(), 'fl-onnx-'));
  try {
    const lines: string[] = [],
      errs: string[] = [];
    const io = { out: (s: string) => void lines.push(s), err: (s: string) => void errs.push(s) };
    const out = join(tmp, 'sasrec.onnx');
    assert.equal(await main([shared('models', 'afl_lastfm_sasrec'), '--out', out], io), 0, errs.join(''));
    assert.ok(existsSync(out));
    assert.match(lines.join(''), /SASRec \(4606 items\).*loads in onnxruntime-node/);
    assert.equal(await main([shared('models', 'afl_lastfm_sasrec')], io), 2);
    assert.match(errs.join(''), /--out <model.onnx> is required/);

    // a minimal Flower checkpoint folder (policy config + tensor table + weights.bin)
    const { TransformerPolicy } = await import('../../core/models/policy');
    const { packTensors } = await import('../../core/models/policyCheckpoint');
    const cfg = {
      vocabSize: 20,
      numItems: 0,
      dModel: 8,
      layers: 1,
      heads: 2,
      ffn: 16,
      maxHistory: 0,
      maxTokens: 6,
      dropout: 0,
      padId: 0,
      bosId: 1,
    };
    const policy = new TransformerPolicy(cfg, 4);
    const snap = await policy.snapshotWeights();
    const shapes = TransformerPolicy.shapes(cfg);
    const { bin, table } = packTensors(snap, new Map(Object.entries(shapes)));
    const ck = join(tmp, 'epoch-1');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(ck);
    writeFileSync(join(ck, 'weights.bin'), bin);
    writeFileSync(
      join(ck, 'manifest.json'),
      JSON.stringify({ format: 'flowloop-flower-checkpoint/1', epoch: 1, policy: cfg, tensors: table }),
    );
    const pout = join(tmp, 'policy.onnx');
    assert.equal(await main([ck, '--out', pout], io), 0, errs.join(''));
    assert.match(lines.join(''), /Flower policy \(vocab 20, dModel 8, 1 layers\)/);
    policy.dispose();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

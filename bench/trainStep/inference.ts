/**
 * Evaluation-time speed: the same model scored by tfjs (core/tensor backend) and by
 * onnxruntime-node on the graph exported by core/models/onnx — SASRec all-item logits for a batch of
 * histories, and the Flower policy's next-token log-probs for decoding. Medians of repeats, same run.
 * Prints one JSON object.  usage: node --import tsx bench/trainStep/inference.ts [--reps 7] [--device wasm]
 */
import { initBackend, type Device } from '../../core/tensor';
import { SASRec } from '../../core/models/sasrec';
import { TransformerPolicy } from '../../core/models/policy';
import { sasrecToOnnx } from '../../core/models/onnx/sasrec';
import { policyToOnnx, OnnxStepPolicy } from '../../core/models/onnx/policy';
import { Rng } from '../../core/util/random';
import cfgs from './configs.json';
import { loadAverage, recordResult } from '../results';

const arg = (n: string, d: string) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(reps: number, f: () => Promise<unknown> | unknown): Promise<number> {
  await f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return Math.round(median(ts) * 10) / 10;
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const reps = Number(arg('reps', '7'));
  const { tf, name } = await initBackend(arg('device', 'wasm') as Device);
  const ort = await import('onnxruntime-node');
  const rng = new Rng(5);
  const out: Record<string, unknown> = { backend: name };

  // SASRec: all-item logits for B histories
  const s = cfgs.sasrec;
  const model = new SASRec({ model: 'sasrec', numItems: s.items, maxLen: s.L, hidden: s.hidden, dropout: 0 }, rng);
  const B = 256;
  const lens = Array.from({ length: B }, () => 1 + rng.int(s.L));
  const seqs = lens.map((n) => Array.from({ length: s.L }, (_, i) => (i < n ? rng.int(s.items) : s.items)));
  const session = await ort.InferenceSession.create(sasrecToOnnx(new Map(model.toArrays().map((a) => [a.name, a]))), {
    intraOpNumThreads: 2,
  });
  const feeds = {
    seq: new ort.Tensor(
      'int64',
      BigInt64Array.from(seqs.flat(), (v) => BigInt(v)),
      [B, s.L],
    ),
    len: new ort.Tensor(
      'int64',
      BigInt64Array.from(lens, (v) => BigInt(v)),
      [B],
    ),
  };
  const tfjsMs = await time(reps, () =>
    tf
      .tidy(() => model.logitsAll(model.represent(tf.tensor2d(seqs.flat(), [B, s.L], 'int32'), tf.tensor1d(lens, 'int32'), false)))
      .dataSync(),
  );
  const ortMs = await time(reps, () => session.run(feeds));
  out.sasrec = { batch: B, items: s.items, tfjsMs, onnxMs: ortMs, onnxSpeedup: Math.round((tfjsMs / ortMs) * 100) / 100 };
  await session.release();
  model.dispose();

  // Flower policy: next-token log-probs of 200 rows with 10-token prefixes
  const p = cfgs.policy;
  const pcfg = {
    vocabSize: p.vocab,
    numItems: 0,
    dModel: p.dModel,
    layers: p.layers,
    heads: p.heads,
    ffn: p.ffn,
    maxHistory: 0,
    maxTokens: p.T,
    dropout: 0,
    padId: 0,
    bosId: 1,
  };
  const policy = new TransformerPolicy(pcfg, 1);
  const rows = 200;
  const prefixes = Array.from({ length: rows }, () => Array.from({ length: 10 }, () => 3 + rng.int(p.vocab - 3)));
  const histories = prefixes.map(() => [] as number[]);
  const shapes = TransformerPolicy.shapes(pcfg);
  const snap = await policy.snapshotWeights();
  const onnx = await OnnxStepPolicy.create(
    policyToOnnx(new Map([...snap].map(([n, d]) => [n, { shape: shapes[n], data: d }])), pcfg),
    pcfg,
  );
  const tfjsP = await time(reps, () => policy.nextLogProbs(histories, prefixes));
  const ortP = await time(reps, () => onnx.nextLogProbs(histories, prefixes));
  out.policy = { rows, prefixTokens: 10, vocab: p.vocab, tfjsMs: tfjsP, onnxMs: ortP, onnxSpeedup: Math.round((tfjsP / ortP) * 100) / 100 };
  await onnx.dispose();
  policy.dispose();
  recordResult('inference', loadBefore, out);
}
main().catch((e) => {
  console.error(`bench/trainStep/inference: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

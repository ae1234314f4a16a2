/**
 * Evaluation-time speed: the same model scored by tfjs (core/tensor backend) and by
 * onnxruntime-node (2 intra-op threads) on the graph exported by core/models/onnx — SASRec all-item logits
 * for a batch of histories (the released AFL LastFM checkpoint), and the Flower policy's next-token log-probs for decoding. Both sides start from
 * the same JS arrays (input tensors built inside the timer on both) and end with the output in JS memory;
 * their outputs are checked equal (max |difference|). `--reps` (default 7) alternating rounds (tfjs then
 * ONNX, ONNX then tfjs, …) after one untimed call each; min/median/max, ratio tfjs / ONNX within a round.
 * Prints one JSON object.  usage: node --import tsx bench/trainStep/inference.ts [--reps 7] [--device wasm]
 */
import { initBackend, type Device } from '../../core/tensor';
import { SASRec } from '../../core/models/sasrec';
import { TransformerPolicy } from '../../core/models/policy';
import { sasrecToOnnx } from '../../core/models/onnx/sasrec';
import { policyToOnnx, OnnxStepPolicy } from '../../core/models/onnx/policy';
import { Rng } from '../../core/util/random';
import { readWeights } from '../../core/models/weights';
import { shared } from '../../harness/paths';
import cfgs from './configs.json';
import { fmtSpread, loadAverage, recordResult, spread } from '../results';

const arg = (n: string, d: string) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? process.argv[i + 1] : d;
};
/** Alternating rounds of the two sides (one untimed call each first): their ms, the ratio a / b per round. */
async function alternate(reps: number, a: () => Promise<unknown>, b: () => Promise<unknown>) {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  const timed = async (f: () => Promise<unknown>, into: number[]) => {
    const t0 = performance.now();
    await f();
    into.push(performance.now() - t0);
  };
  for (let i = 0; i < reps; i++) {
    if (i % 2 === 0) {
      await timed(a, ta);
      await timed(b, tb);
    } else {
      await timed(b, tb);
      await timed(a, ta);
    }
  }
  return { tfjsMs: spread(ta, 1), onnxMs: spread(tb, 1), tfjsOverOnnx: spread(ta.map((x, i) => x / tb[i])) };
}
const maxAbsDiff = (x: ArrayLike<number>, y: ArrayLike<number>) => {
  if (x.length !== y.length) return Infinity;
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
};

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const reps = Number(arg('reps', '7'));
  const { tf, name, reason } = await initBackend(arg('device', 'wasm') as Device);
  const ort = await import('onnxruntime-node');
  const rng = new Rng(5);
  const out: Record<string, unknown> = {
    backend: `${name}: ${reason}`,
    protocol: `${reps} alternating rounds per model (tfjs then ONNX, ONNX then tfjs, …) after one untimed call each; input tensors built from the same JS arrays inside the timer and the output read into JS memory on both sides; min/median/max over rounds, ratio = tfjs / ONNX within a round (above 1: ONNX is faster)`,
  };

  // SASRec: all-item logits for B histories
  const s = cfgs.sasrec;
  const model = new SASRec({ model: 'sasrec', numItems: s.items, maxLen: s.L, hidden: s.hidden, dropout: 0 }, rng);
  // the released AFL LastFM SASRec (same shape): trained weights, as at evaluation time (at initialisation the
  // row factor sign(|Σ LN1(x)|) is decided by float noise, so fresh weights give backend-dependent outputs)
  model.loadArrays(readWeights(shared('models', 'afl_lastfm_sasrec')).arrays, 'afl_lastfm_sasrec');
  const B = 256;
  const lens = Array.from({ length: B }, () => 1 + rng.int(s.L));
  const seqs = lens.map((n) => Array.from({ length: s.L }, (_, i) => (i < n ? rng.int(s.items) : s.items)));
  const session = await ort.InferenceSession.create(sasrecToOnnx(new Map(model.toArrays().map((a) => [a.name, a]))), {
    intraOpNumThreads: 2,
  });
  const feedsOf = () => ({
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
  });
  const tfjsLogits = () =>
    tf
      .tidy(() => model.logitsAll(model.represent(tf.tensor2d(seqs.flat(), [B, s.L], 'int32'), tf.tensor1d(lens, 'int32'), false)))
      .dataSync() as Float32Array;
  const onnxLogits = async () => (await session.run(feedsOf())).logits.data as Float32Array;
  const sasDiff = maxAbsDiff(tfjsLogits(), await onnxLogits());
  const sas = await alternate(reps, async () => tfjsLogits(), onnxLogits);
  out.sasrec = { weights: 'shared/data/models/afl_lastfm_sasrec', batch: B, items: s.items, ...sas, maxAbsDiff: sasDiff };
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
  const [lpT, lpO] = [await policy.nextLogProbs(histories, prefixes), await onnx.nextLogProbs(histories, prefixes)];
  const polDiff = Math.max(...lpT.map((x, i) => maxAbsDiff(x, lpO[i])));
  const pol = await alternate(
    reps,
    () => policy.nextLogProbs(histories, prefixes),
    () => onnx.nextLogProbs(histories, prefixes),
  );
  out.policy = { rows, prefixTokens: 10, vocab: p.vocab, ...pol, maxAbsDiff: polDiff };
  await onnx.dispose();
  policy.dispose();
  const ok = sasDiff < 1e-3 && polDiff < 1e-3;
  if (!ok) throw new Error(`tfjs and ONNX outputs differ: SASRec ${sasDiff}, policy ${polDiff}`);
  out.summary = `${reps} alternating rounds, tfjs (${name}) / onnxruntime-node: SASRec all-item logits (batch ${B}) ${fmtSpread(sas.tfjsOverOnnx, '×')} (medians ${sas.tfjsMs.median} vs ${sas.onnxMs.median} ms); Flower policy next-token log-probs (${rows} rows) ${fmtSpread(pol.tfjsOverOnnx, '×')} (medians ${pol.tfjsMs.median} vs ${pol.onnxMs.median} ms); outputs equal within ${Math.max(sasDiff, polDiff).toExponential(1)}`;
  recordResult('inference', loadBefore, out);
}
main().catch((e) => {
  console.error(`bench/trainStep/inference: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

/**
 * Hugging Face backbone (core/llm) exactness on models made here (test/oracles/hf_tiny.py: tiny random
 * Qwen2 (tied, sharded; untied, bf16) and Llama (llama3 RoPE scaling) models with the Qwen2.5 tokenizer and
 * vocabulary 151,936): Flowloop's logits equal PyTorch's and onnxruntime's on a batch of padded real
 * Movies_and_TV prompts, with and without the KV cache; completion log-probs equal PyTorch's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import { initBackend } from '../../core/tensor';
import { loadHfModel, type HfModel } from '../../core/llm/load';
import { layoutRows } from '../../core/llm/layout';
import { LmPolicy } from '../../core/llm/policy';
import { OnnxLmPolicy } from '../../core/llm/onnxPolicy';
import { completionIds, promptIds } from '../../core/llm/prompt';
import { loadQwenTokenizer } from '../../core/tokenize/qwen';
import { MODEL_NAMES, QWEN_IM_END, VOCAB, logprobTolerance, oracle, oracleUnavailable, referenceLogits } from './llmOracle';

const TOL = 1e-4;
const skip = oracleUnavailable();

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; at: number } {
  assert.equal(a.length, b.length, `lengths differ: ${a.length} vs ${b.length}`);
  let max = 0,
    at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) {
      max = d;
      at = i;
    }
  }
  return { max, at };
}

/** log_softmax of reference logits rows (double precision). */
function logSoftmaxRow(x: Float32Array): Float64Array {
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  return Float64Array.from(x, (v) => v - lse);
}

const models = new Map<string, HfModel>();
async function model(name: string): Promise<HfModel> {
  await initBackend('auto');
  let m = models.get(name);
  if (!m) {
    m = loadHfModel(join(oracle().dir, name));
    models.set(name, m);
  }
  return m;
}

/** Flowloop logits of the padded batch, at every real position (rows in order): [Σ len, V]. */
async function flowloopLogits(m: HfModel, rows: number[][]): Promise<Float32Array> {
  const tf = (await initBackend('auto')).tf;
  const lay = layoutRows(rows, undefined, m.tokenizer.padId);
  const idx: number[] = [];
  rows.forEach((r, b) => {
    for (let j = lay.L - r.length; j < lay.L; j++) idx.push(b * lay.L + j);
  });
  const t = tf.tidy(() => m.model.logits(tf.gather(m.model.hidden(lay), tf.tensor1d(Int32Array.from(idx), 'int32')) as TF.Tensor2D));
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

test('folder tokenizer: ids equal the Qwen2.5 tokenizer on the released prompt; EOS <|im_end|>, terminal "\\n"', { skip }, async () => {
  const o = oracle();
  const m = await model('qwen2-tied-sharded');
  const ref = loadQwenTokenizer();
  assert.equal(m.tokenizer.eosId, QWEN_IM_END);
  assert.equal(m.tokenizer.terminalId, 198);
  assert.equal(m.tokenizer.padId, 151643);
  assert.equal(m.config.vocabSize, VOCAB);
  for (const [i, r] of o.input.scoreText.entries()) {
    const mine = promptIds(m.tokenizer, r.history, 'movies and TV');
    assert.deepEqual(mine, o.input.fullPrompts[i], `row ${i}: folder tokenizer prompt ids differ from the bundled Qwen2.5 tokenizer's`);
    assert.deepEqual(completionIds(m.tokenizer, r.title), [...ref.encode(r.title + '\n'), QWEN_IM_END]);
  }
  assert.match(m.precision, /float32/);
});

for (const name of MODEL_NAMES) {
  test(`${name}: logits of a padded batch of Movies_and_TV prompts equal PyTorch's (max |diff| ≤ ${TOL})`, { skip }, async (t) => {
    const o = oracle();
    const m = await model(name);
    const mine = await flowloopLogits(m, o.input.rows);
    const ref = referenceLogits(o, name);
    const { max, at } = maxAbsDiff(mine, ref);
    t.diagnostic(`max |Flowloop - PyTorch| logits = ${max.toExponential(2)}`);
    assert.ok(
      max <= TOL,
      `max |Flowloop - PyTorch| = ${max} at row ${Math.floor(at / VOCAB)}, token ${at % VOCAB} (${mine[at]} vs ${ref[at]})`,
    );
    if (name === 'qwen2-untied-bf16') assert.match(m.precision, /BF16, read and computed in float32/);
  });

  test(
    `${name}: KV-cache decoding (prompt once, then one token per step, branching states) equals PyTorch's log-probs`,
    { skip },
    async (t) => {
      const o = oracle();
      const m = await model(name);
      const pol = new LmPolicy(m.model, m.tokenizer.padId);
      const ref = referenceLogits(o, name);
      const rows = o.input.rows;
      const steps = 6;
      // Reference row offsets: rows are stored back to back.
      const start: number[] = [];
      rows.reduce((a, r) => {
        start.push(a);
        return a + r.length;
      }, 0);
      const prompts = rows.map((r) => r.slice(0, r.length - steps));
      const { session, logProbs } = await pol.startSession(prompts);
      let worst = 0;
      const check = (lps: Float32Array[], states: number[], pos: number) => {
        states.forEach((b, i) => {
          const want = logSoftmaxRow(ref.subarray((start[b] + pos) * VOCAB, (start[b] + pos + 1) * VOCAB));
          worst = Math.max(worst, maxAbsDiff(lps[i], want).max);
        });
      };
      try {
        rows.forEach((r, b) => check([logProbs[b]], [b], r.length - steps - 1));
        // Each state branches into two copies (beams), then copies are dropped again: parents are not identity.
        let states = [0, 1, 2];
        for (let s = 0; s < steps; s++) {
          const grow = s % 2 === 0;
          const next = grow ? states.flatMap((b) => [b, b]) : states.filter((_, i) => i % 2 === 0);
          const parents = grow ? states.flatMap((_, i) => [i, i]) : next.map((_, i) => 2 * i);
          const toks = parents.map((p, i) => rows[next[i]][rows[next[i]].length - steps + s]);
          const lps = await session.step(parents, toks);
          next.forEach((b, i) => check([lps[i]], [b], rows[b].length - steps + s));
          states = next;
        }
      } finally {
        session.dispose();
      }
      t.diagnostic(`max |KV-cache - PyTorch| log-probs = ${worst.toExponential(2)}`);
      assert.ok(worst <= TOL, `KV-cache log-probs differ from PyTorch's by ${worst}`);
    },
  );

  test(`${name}: onnxruntime on torch's ONNX export gives the same logits as Flowloop (max |diff| ≤ ${TOL})`, { skip }, async (t) => {
    const o = oracle();
    const m = await model(name);
    const ort = await import('onnxruntime-node');
    const rows = o.input.rows;
    const L = Math.max(...rows.map((r) => r.length));
    const ids = BigInt64Array.from(
      rows.flatMap((r) => [...Array(L - r.length).fill(151643), ...r]),
      (v) => BigInt(v),
    );
    const mask = BigInt64Array.from(
      rows.flatMap((r) => [...Array(L - r.length).fill(0), ...Array(r.length).fill(1)]),
      (v) => BigInt(v),
    );
    const s = await ort.InferenceSession.create(join(o.dir, name, 'model.onnx'));
    let onnx: Float32Array;
    try {
      const out = await s.run({
        input_ids: new ort.Tensor('int64', ids, [rows.length, L]),
        attention_mask: new ort.Tensor('int64', mask, [rows.length, L]),
      });
      onnx = out.logits.data as Float32Array;
    } finally {
      await s.release();
    }
    const real: number[] = [];
    rows.forEach((r, b) => {
      for (let j = L - r.length; j < L; j++) real.push(b * L + j);
    });
    const onnxReal = new Float32Array(real.length * VOCAB);
    real.forEach((k, i) => onnxReal.set(onnx.subarray(k * VOCAB, (k + 1) * VOCAB), i * VOCAB));
    const mine = await flowloopLogits(m, rows);
    const a = maxAbsDiff(mine, onnxReal);
    const b = maxAbsDiff(referenceLogits(o, name), onnxReal);
    t.diagnostic(`max |Flowloop - onnxruntime| = ${a.max.toExponential(2)}, max |PyTorch - onnxruntime| = ${b.max.toExponential(2)}`);
    assert.ok(a.max <= TOL, `max |Flowloop - onnxruntime| = ${a.max}`);
    assert.ok(b.max <= TOL, `max |PyTorch - onnxruntime| = ${b.max}`);
  });

  test(`${name}: completion log-probs (rows of different lengths, one batch) equal PyTorch's`, { skip }, async () => {
    const o = oracle();
    const m = await model(name);
    const pol = new LmPolicy(m.model, m.tokenizer.padId);
    const got = await pol.completionLogProbs(
      o.input.score.map((s) => s.prompt),
      o.input.score.map((s) => s.completion),
    );
    const want = o.reference.models[name].score_logprobs;
    got.forEach((g, i) => {
      assert.equal(g.tokens, o.input.score[i].completion.length);
      assert.ok(
        Math.abs(g.logprob - want[i]) <= logprobTolerance(g.tokens, want[i]),
        `row ${i}: Flowloop ${g.logprob} vs PyTorch ${want[i]}`,
      );
    });
  });

  test(
    `${name}: the ONNX route (OnnxLmPolicy on torch's export) gives the same next-token and completion log-probs`,
    { skip },
    async (t) => {
      const o = oracle();
      const m = await model(name);
      const onnx = await OnnxLmPolicy.load(join(o.dir, name, 'model.onnx'), m.tokenizer.padId);
      try {
        const pol = new LmPolicy(m.model, m.tokenizer.padId);
        const prompts = o.input.rows.map((r) => r.slice(0, -3));
        const prefixes = o.input.rows.map((r) => r.slice(-3, -1));
        const a = await onnx.nextLogProbs(prompts, prefixes);
        const b = await pol.nextLogProbs(prompts, prefixes);
        let worst = 0;
        a.forEach((x, i) => {
          worst = Math.max(worst, maxAbsDiff(x, b[i]).max);
        });
        const got = await onnx.completionLogProbs(
          o.input.score.map((s) => s.prompt),
          o.input.score.map((s) => s.completion),
          3,
        );
        const want = o.reference.models[name].score_logprobs;
        const worstScore = Math.max(...got.map((g, i) => Math.abs(g.logprob - want[i]) / g.tokens));
        t.diagnostic(
          `max |onnx - Flowloop| next-token log-probs = ${worst.toExponential(2)}; completion log-prob per token vs PyTorch ${worstScore.toExponential(2)}`,
        );
        assert.ok(worst <= TOL, `ONNX next-token log-probs differ from Flowloop's by ${worst}`);
        assert.ok(worstScore <= TOL, `ONNX completion log-probs differ from PyTorch's by ${worstScore} per token`);
      } finally {
        await onnx.dispose();
      }
    },
  );
}

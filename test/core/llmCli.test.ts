/**
 * `flowloop lm score` / `lm info` on the oracle's tiny Hugging Face folders (test/core/llmOracle.ts):
 * one JSON line per row, equal to PyTorch's completion log-probabilities for id rows; text rows and
 * history rows tokenised by the folder's tokenizer as the released prompts are; located row errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../core/cli/lm';
import { promptIds, promptText, completionIds } from '../../core/llm/prompt';
import { loadHfTokenizer } from '../../core/llm/tokenizer';
import { logprobTolerance, oracle, oracleUnavailable, VOCAB } from './llmOracle';

const skip = oracleUnavailable();

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const code = await main(argv, {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  return { code, out, err };
}

test('lm score: id rows of different lengths equal PyTorch; text and history rows give the released tokenisation', { skip }, async (t) => {
  const o = oracle();
  const name = 'llama-untied';
  const dir = join(o.dir, name);
  const tmp = mkdtempSync(join(tmpdir(), 'flowloop-lm-'));
  try {
    const tok = loadHfTokenizer(dir, VOCAB);
    const h = o.input.scoreText[1];
    const rows = [
      ...o.input.score.map((s) => ({ promptIds: s.prompt, completionIds: s.completion })),
      { prompt: promptText(h.history, 'movies and TV'), completion: h.title + '\n', eos: true },
      { history: h.history, title: h.title, category: 'movies and TV' },
      { promptIds: promptIds(tok, h.history, 'movies and TV'), completionIds: completionIds(tok, h.title) },
    ];
    const f = join(tmp, 'rows.jsonl');
    writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = await run(['score', '--model', dir, '--in', f, '--batch', '3']);
    assert.equal(r.code, 0, r.err);
    t.diagnostic(r.err.trim());
    assert.match(r.err, /LlamaForCausalLM .* on backend \w+/);
    assert.match(r.err, /memory estimate for scoring 7 rows/);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { logprob: number; tokens: number });
    assert.equal(lines.length, rows.length);
    const want = o.reference.models[name].score_logprobs;
    o.input.score.forEach((s, i) => {
      assert.equal(lines[i].tokens, s.completion.length);
      assert.ok(
        Math.abs(lines[i].logprob - want[i]) <= logprobTolerance(s.completion.length, want[i]),
        `row ${i}: ${lines[i].logprob} vs PyTorch ${want[i]}`,
      );
    });
    const [text, hist, ids] = lines.slice(o.input.score.length);
    // Same token ids in another batch slot: equal up to the kernels' row-blocking (the native OpenBLAS matMul
    // may sum a row in another order depending on where it sits in the batch).
    const sameRow = (a: { logprob: number; tokens: number }, what: string) => {
      assert.equal(a.tokens, ids.tokens, `${what}: ${a.tokens} completion tokens vs ${ids.tokens} in the id row`);
      assert.ok(Math.abs(a.logprob - ids.logprob) <= 1e-4, `${what} differs from the id row: ${a.logprob} vs ${ids.logprob}`);
    };
    sameRow(text, 'text row (prompt parts + completion + EOS)');
    sameRow(hist, 'history row (released prompt)');
    // --onnx: the same rows through onnxruntime on the export
    const x = await run(['score', '--model', dir, '--in', f, '--onnx', join(dir, 'model.onnx')]);
    assert.equal(x.code, 0, x.err);
    assert.match(x.err, /onnxruntime-node \(cpu provider\)/);
    x.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { logprob: number; tokens: number })
      .forEach((g, i) => {
        assert.equal(g.tokens, lines[i].tokens);
        assert.ok(
          Math.abs(g.logprob - lines[i].logprob) <= logprobTolerance(g.tokens, lines[i].logprob),
          `row ${i}: onnx ${g.logprob} vs tfjs ${lines[i].logprob}`,
        );
      });
    // --cutoff keeps the last N tokens of prompt + completion: the first 4 id rows cut to 30 tokens
    const c = await run(['score', '--model', dir, '--in', f, '--cutoff', '30']);
    assert.equal(c.code, 0, c.err);
    const cut = c.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { logprob: number; tokens: number });
    assert.ok(Math.abs(cut[1].logprob - lines[1].logprob) <= 1e-4, 'row 1 was already 30 tokens: unchanged (up to batch-shape rounding)');
    assert.notEqual(cut[0].logprob, lines[0].logprob, 'row 0 (48 tokens) must change when cut to 30');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('lm score: bad rows are located errors (file:line and field), exit 2', { skip }, async () => {
  const o = oracle();
  const dir = join(o.dir, 'qwen2-untied-bf16');
  const tmp = mkdtempSync(join(tmpdir(), 'flowloop-lm-'));
  try {
    const f = join(tmp, 'rows.jsonl');
    const cases: [string, RegExp][] = [
      ['{"promptIds": [1, 2], "completionIds": [3]}\n{not json', /rows\.jsonl:2 .*: not JSON/],
      ['{"promptIds": [1, "x"], "completionIds": [3]}', /rows\.jsonl:1: promptIds .*"promptIds" must be a list of token ids/],
      ['{"history": ["A"], "title": "B"}', /rows\.jsonl:1: category .*a history row needs the category word/],
      ['{"promptIds": [1], "completionIds": [999999]}', /row 1: token id 999999 outside the model vocabulary/],
      ['{"foo": 1}', /rows\.jsonl:1 .*a row needs promptIds/],
    ];
    for (const [text, re] of cases) {
      writeFileSync(f, text);
      const r = await run(['score', '--model', dir, '--in', f]);
      assert.equal(r.code, 2, `${text}: exit ${r.code}, ${r.err}`);
      assert.match(r.err, re);
    }
    const r = await run(['score', '--model', join(tmp, 'nope'), '--in', f]);
    assert.equal(r.code, 2);
    assert.match(r.err, /model folder not found/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('lm info: architecture, parameters, stored dtype, backend and why, memory estimates', { skip }, async () => {
  const r = await run(['info', '--model', join(oracle().dir, 'qwen2-untied-bf16')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /architecture: Qwen2ForCausalLM, 2 layers, hidden 64, 4 heads \/ 1 kv heads/);
  assert.match(r.out, /weights stored as BF16, read and computed in float32/);
  assert.match(r.out, /^backend: \w+ — /m);
  assert.match(r.out, /(fits|DOES NOT FIT): full fine-tuning \(the released Flower setting\)/);
});

test('flowloop doctor --model: the backend it would run on and why; a bad folder is a fail line', { skip }, async () => {
  const { DOCTOR_CHECKS, runDoctor } = await import('../../core/cli/doctor');
  const checks = DOCTOR_CHECKS.filter((c) => c.name === 'model');
  const ctx = { cwd: process.cwd(), env: process.env, timeoutMs: 1000 };
  const [ok] = await runDoctor({ ...ctx, model: join(oracle().dir, 'qwen2-untied-bf16') }, checks);
  assert.equal(ok.result.status, 'ok', ok.result.detail);
  assert.match(
    ok.result.detail,
    /Qwen2ForCausalLM, \d+ M parameters, weights stored as BF16, read and computed in float32 .*would run on \w+ \(.+\); memory .*beam search .*full fine-tuning at micro-batch 8 × 512/,
  );
  const [bad] = await runDoctor({ ...ctx, model: '/nonexistent/model' }, checks);
  assert.equal(bad.result.status, 'fail');
  assert.match(bad.result.detail, /model folder not found/);
  const [none] = await runDoctor(ctx, checks);
  assert.equal(none.result.status, 'ok');
});

test('lm score --lora: a PEFT adapter gives the log-probs of the base folder with W + (alpha/r)·B A merged in', { skip }, async () => {
  const { readSafetensors, writeSafetensors } = await import('../../core/llm/safetensors');
  const { cpSync } = await import('node:fs');
  const o = oracle();
  const base = join(o.dir, 'llama-untied');
  const tmp = mkdtempSync(join(tmpdir(), 'flowloop-lora-'));
  try {
    // A random adapter on q_proj and down_proj (PEFT names and layout), r = 4, alpha = 8 -> scale 2.
    const r = 4,
      alpha = 8;
    const w = readSafetensors(join(base, 'model.safetensors'));
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    const adapter = new Map<string, { shape: number[]; data: Float32Array }>();
    const merged = new Map([...w].map(([n, t]) => [n, { shape: t.shape, data: Float32Array.from(t.data) }]));
    for (const [name, t] of w) {
      const m = /^(model\.layers\.\d+\.(?:self_attn\.q_proj|mlp\.down_proj))\.weight$/.exec(name);
      if (!m) continue;
      const [out, inp] = t.shape;
      const A = Float32Array.from({ length: r * inp }, () => rnd() * 0.5);
      const B = Float32Array.from({ length: out * r }, () => rnd() * 0.5);
      adapter.set(`base_model.model.${m[1]}.lora_A.weight`, { shape: [r, inp], data: A });
      adapter.set(`base_model.model.${m[1]}.lora_B.weight`, { shape: [out, r], data: B });
      const W = merged.get(name)!.data;
      for (let i = 0; i < out; i++)
        for (let j = 0; j < inp; j++) {
          let d = 0;
          for (let k = 0; k < r; k++) d += B[i * r + k] * A[k * inp + j];
          W[i * inp + j] += (alpha / r) * d;
        }
    }
    const adDir = join(tmp, 'adapter');
    mkdirSync(adDir);
    writeSafetensors(join(adDir, 'adapter_model.safetensors'), adapter);
    writeFileSync(
      join(adDir, 'adapter_config.json'),
      JSON.stringify({
        peft_type: 'LORA',
        task_type: 'CAUSAL_LM',
        r,
        lora_alpha: alpha,
        lora_dropout: 0.1,
        target_modules: ['q_proj', 'down_proj'],
        bias: 'none',
      }),
    );
    const mergedDir = join(tmp, 'merged');
    cpSync(base, mergedDir, { recursive: true, filter: (s) => !/\.(onnx|f32|safetensors)$/.test(s) });
    writeSafetensors(join(mergedDir, 'model.safetensors'), merged);
    const rows = join(tmp, 'rows.jsonl');
    writeFileSync(rows, o.input.score.map((s) => JSON.stringify({ promptIds: s.prompt, completionIds: s.completion })).join('\n'));
    const a = await run(['score', '--model', base, '--in', rows, '--lora', adDir]);
    assert.equal(a.code, 0, a.err);
    assert.match(a.err, /LoRA adapter .*r=4, alpha=8 \(scale 2\), 6 modules/);
    const b = await run(['score', '--model', mergedDir, '--in', rows]);
    assert.equal(b.code, 0, b.err);
    const plain = await run(['score', '--model', base, '--in', rows]);
    const parse = (s: string) =>
      s
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { logprob: number }).logprob);
    const [la, lb, lp] = [parse(a.out), parse(b.out), parse(plain.out)];
    la.forEach((v, i) => assert.ok(Math.abs(v - lb[i]) <= 1e-3, `row ${i}: adapter ${v} vs merged ${lb[i]}`));
    assert.ok(
      la.some((v, i) => Math.abs(v - lp[i]) > 0.1),
      'the adapter must change the scores',
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

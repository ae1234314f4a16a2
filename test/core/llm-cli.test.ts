/**
 * `flowloop lm score` / `lm info` on the oracle's tiny Hugging Face folders (test/core/llm-oracle.ts):
 * one JSON line per row, equal to PyTorch's completion log-probabilities for id rows; text rows and
 * history rows tokenised by the folder's tokenizer as the released prompts are; located row errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../core/cli/lm';
import { promptIds, promptText, completionIds } from '../../core/llm/prompt';
import { loadHfTokenizer } from '../../core/llm/tokenizer';
import { oracle, oracleUnavailable, VOCAB } from './llm-oracle';

const skip = oracleUnavailable();

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
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
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { logprob: number; tokens: number });
    assert.equal(lines.length, rows.length);
    const want = o.reference.models[name].score_logprobs;
    o.input.score.forEach((s, i) => {
      assert.equal(lines[i].tokens, s.completion.length);
      assert.ok(Math.abs(lines[i].logprob - want[i]) <= 1e-4 * s.completion.length, `row ${i}: ${lines[i].logprob} vs PyTorch ${want[i]}`);
    });
    const [text, hist, ids] = lines.slice(o.input.score.length);
    assert.deepEqual(text, ids, 'text row (prompt parts + completion + EOS) differs from the id row');
    assert.deepEqual(hist, ids, 'history row (released prompt) differs from the id row');
    // --onnx: the same rows through onnxruntime on the export
    const x = await run(['score', '--model', dir, '--in', f, '--onnx', join(dir, 'model.onnx')]);
    assert.equal(x.code, 0, x.err);
    assert.match(x.err, /onnxruntime-node \(cpu provider\)/);
    x.out.trim().split('\n').map((l) => JSON.parse(l) as { logprob: number; tokens: number }).forEach((g, i) => {
      assert.equal(g.tokens, lines[i].tokens);
      assert.ok(Math.abs(g.logprob - lines[i].logprob) <= 1e-4 * g.tokens, `row ${i}: onnx ${g.logprob} vs tfjs ${lines[i].logprob}`);
    });
    // --cutoff keeps the last N tokens of prompt + completion: the first 4 id rows cut to 30 tokens
    const c = await run(['score', '--model', dir, '--in', f, '--cutoff', '30']);
    assert.equal(c.code, 0, c.err);
    const cut = c.out.trim().split('\n').map((l) => JSON.parse(l) as { logprob: number; tokens: number });
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
  assert.match(ok.result.detail, /Qwen2ForCausalLM, \d+ M parameters, weights stored as BF16, read and computed in float32 .*would run on \w+ \(.+\); memory .*beam search .*full fine-tuning at micro-batch 8 × 512/);
  const [bad] = await runDoctor({ ...ctx, model: '/nonexistent/model' }, checks);
  assert.equal(bad.result.status, 'fail');
  assert.match(bad.result.detail, /model folder not found/);
  const [none] = await runDoctor(ctx, checks);
  assert.equal(none.result.status, 'ok');
});

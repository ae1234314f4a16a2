/**
 * Training a Hugging Face causal LM with Flower's objective (core/llm/lora.ts, core/llm/trainable.ts,
 * core/flower/objective.ts unchanged) against an independent PyTorch step (test/oracles/hf_lora_step.py):
 * on a tiny random Qwen2 model (test/oracles/hf_tiny.py; the real Qwen2.5 tokenizer and vocabulary), real
 * Movies_and_TV prompts (released template), a trie of real Movies_and_TV titles and GFN paths SAMPLED from
 * the LM under the trie, one step's loss and every LoRA gradient equal PyTorch's (rows run one by one
 * there, padded batches here); the saved adapter has PEFT's names and shapes and, merged into the base
 * weights in PyTorch, gives the adapted model's logits; full fine-tuning gradients match too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, shared } from '../../harness/paths';
import { initBackend, getTf } from '../../core/tensor';
import { loadHfModel } from '../../core/llm/load';
import { LmPolicy } from '../../core/llm/policy';
import { promptIds, truncateLeft } from '../../core/llm/prompt';
import { readSafetensorsHeader } from '../../core/llm/safetensors';
import { LoraAdapters, readPeftAdapter } from '../../core/llm/lora';
import { LmTrainable } from '../../core/llm/trainable';
import { layoutRows } from '../../core/llm/layout';
import { readEvalCsv } from '../../core/data/amazon';
import { loadQwenTokenizer } from '../../core/tokenize/qwen';
import { PolicyVocab } from '../../core/tokenize/policyVocab';
import { PrefixTree } from '../../core/trie';
import { sampleTitles } from '../../core/decode';
import { Rng } from '../../core/util/random';
import { gfnSampleFromTitle, objective, pathLogRewards, titleRows, type GfnSample } from '../../core/flower/objective';
import { PYTHON, oracle, oracleUnavailable } from './llmOracle';

const skip = oracleUnavailable();
const MODEL = 'qwen2-tied-sharded';
const THETA = 0.6;

/** Real Movies_and_TV rows: prompts (released template, left-truncated to ~40 tokens), trie over their target titles + a few more. */
function fixture() {
  const tok = loadQwenTokenizer();
  const rows = readEvalCsv(shared('amazon', 'Movies_and_TV', 'valid.csv')).slice(0, 12);
  const titles = [...new Set(rows.map((r) => r.itemTitle))];
  const trie = PrefixTree.build(
    titles,
    titles.map((_, i) => 1 + (i % 3)),
    tok,
    { titleEnd: 'separate' },
  );
  const vocab = PolicyVocab.fromTrie(trie, tok);
  const titleIdx = new Map(trie.titles.map((t, i) => [t, i]));
  for (const [merged, kept] of trie.merged) titleIdx.set(trie.titles[merged], kept);
  const prompts = rows.map((r, i) => truncateLeft(promptIds(tok, r.historyTitles, 'movies and TV'), [], 28 + 5 * (i % 3)).prompt);
  return { tok, rows, trie, vocab, prompts, targets: rows.map((r) => titleIdx.get(r.itemTitle)!) };
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  assert.equal(a.length, b.length);
  let diff = 0,
    scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}

function runOracle(spec: Record<string, unknown>, dir: string): any {
  const inp = join(dir, 'step-in.json'),
    out = join(dir, 'step-out.json');
  writeFileSync(inp, JSON.stringify(spec));
  const r = spawnSync(PYTHON, [join(ROOT, 'test', 'oracles', 'hf_lora_step.py'), inp, out], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `hf_lora_step.py failed:\n${(r.stderr ?? '').slice(-3000)}`);
  return JSON.parse(readFileSync(out, 'utf8'));
}

test(
  'one Flower step with LoRA: loss and every LoRA gradient equal PyTorch; the PEFT adapter merged in PyTorch gives the adapted logits',
  { skip },
  async () => {
    await initBackend('auto');
    const tf = getTf();
    const o = oracle();
    const dir = mkdtempSync(join(tmpdir(), 'fl-lora-'));
    const hf = loadHfModel(join(o.dir, MODEL));
    const f = fixture();
    const lm = new LmPolicy(hf.model, hf.tokenizer.padId);
    // a LoRA adapter with random A AND B (B = 0 at a real start would make A's gradient trivially 0)
    const settings = {
      r: 4,
      alpha: 8,
      dropout: 0,
      targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    };
    const init = new Map<string, Float32Array>();
    const rng = new Rng(3);
    const probe = new LoraAdapters(hf.model, settings, 1);
    for (const n of probe.names)
      init.set(
        n,
        Float32Array.from({ length: probe.weights[n].size }, () => 0.05 * rng.normal()),
      );
    probe.dispose();
    const lora = new LoraAdapters(hf.model, settings, 1, init);
    assert.equal(lora.modules.length, 7 * 2, 'q,k,v,o,gate,up,down in both layers');
    const adapterDir = join(dir, 'adapter');
    await lora.save(adapterDir, join(o.dir, MODEL));

    // PEFT layout: names, shapes, config
    const header = readSafetensorsHeader(join(adapterDir, 'adapter_model.safetensors')).tensors;
    const names = Object.keys(header).sort();
    assert.equal(names.length, 28);
    assert.ok(names.includes('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'), names.slice(0, 4).join(', '));
    const D = hf.config.hidden,
      I = hf.config.intermediate,
      kv = hf.config.kvHeads * hf.config.headDim;
    assert.deepEqual(header['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'].shape, [4, D]);
    assert.deepEqual(header['base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight'].shape, [kv, 4]);
    assert.deepEqual(header['base_model.model.model.layers.1.mlp.down_proj.lora_A.weight'].shape, [4, I]);
    assert.deepEqual(header['base_model.model.model.layers.0.mlp.up_proj.lora_B.weight'].shape, [I, 4]);
    const cfg = JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8'));
    assert.deepEqual(
      [cfg.peft_type, cfg.task_type, cfg.r, cfg.lora_alpha, cfg.lora_dropout, cfg.bias],
      ['LORA', 'CAUSAL_LM', 4, 8, 0, 'none'],
    );
    const back = readPeftAdapter(adapterDir);
    assert.deepEqual(back.settings, settings);
    for (const n of lora.names) assert.deepEqual(Array.from(back.tensors.get(n)!), Array.from(init.get(n)!), `${n} round-trips`);

    // the batch: SFT targets + GFN paths sampled from the LM under the trie (histories index the prompt table)
    const policy = new LmTrainable(lm, f.vocab, lora, (h) => f.prompts[h[0]], 64);
    const B = 6;
    const histories = Array.from({ length: B }, (_, b) => [b]);
    const sampled = await sampleTitles(policy, f.trie, f.vocab, histories, { temperature: 1, rng: new Rng(7) });
    assert.equal(sampled.length, B);
    const samples: GfnSample[] = sampled.map((s) => gfnSampleFromTitle(f.trie, f.vocab, s.titleIndex, 'none'));
    const targets = f.targets.slice(0, B);
    const weights = [1, 0.5, 2, 1, 1.5, 0.7];
    const { value, grads } = tf.variableGrads(
      () => objective(policy, f.trie, f.vocab, { histories, targets, weights, samples }, { theta: THETA, personalization: 'none' }).total,
      lora.names.map((n) => lora.weights[n]),
    );
    const loss = value.dataSync()[0];

    const toModel = (ids: number[]) => f.vocab.decode(ids);
    const spec = {
      model: join(o.dir, MODEL),
      adapter: adapterDir,
      theta: THETA,
      terminal: f.vocab.toTokenizer(f.vocab.terminal),
      rows: histories.map((h, b) => ({
        prompt: f.prompts[b],
        sft: toModel(titleRows(f.trie, f.vocab, targets[b]).targets),
        weight: weights[b],
        gfn: { input: toModel(samples[b].input), logR: samples[b].logR },
      })),
      logits: [f.prompts[0].concat(toModel(titleRows(f.trie, f.vocab, targets[0]).input)), f.prompts[4]],
    };
    const ref = runOracle(spec, dir);
    assert.ok(
      Math.abs(loss - ref.loss) <= 1e-4 * Math.abs(ref.loss),
      `loss: Flowloop ${loss}, PyTorch ${ref.loss} (sft ${ref.sft}, gfn ${ref.gfn})`,
    );
    const byVar = new Map(lora.names.map((n) => [lora.weights[n].name, n]));
    let worst = { name: '', diff: 0, scale: 0 };
    for (const [vn, g] of Object.entries(grads)) {
      const n = byVar.get(vn)!;
      const r = maxRel(g.dataSync(), ref.grads[n]);
      assert.ok(r.scale > 0, `${n}: PyTorch gradient is all zero`);
      if (r.diff / r.scale > worst.diff / Math.max(worst.scale, 1e-30)) worst = { name: n, ...r };
      assert.ok(r.diff <= 1e-4 * r.scale, `${n}: max |Flowloop − PyTorch| = ${r.diff}, max |grad| = ${r.scale}`);
    }
    assert.equal(Object.keys(ref.grads).length, 28);
    console.log(`# LoRA step: loss ${loss} vs ${ref.loss}; worst gradient ${worst.name} ${worst.diff} / ${worst.scale}`);

    // merged in PyTorch (W + alpha/r·B·A) vs Flowloop's adapted model, every position of two rows
    const refLogits = (() => {
      const b = readFileSync(join(dir, 'step-out.json.logits.f32'));
      return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    })();
    const mine = tf.tidy(() => {
      const parts = spec.logits.map((seq) => hf.model.logits(hf.model.hidden(layoutRows([seq], undefined, 0))));
      return tf.concat(parts, 0);
    });
    const m = maxRel(mine.dataSync(), refLogits);
    assert.ok(m.diff <= 1e-4, `merged-in-PyTorch logits vs Flowloop adapted logits: max |diff| ${m.diff}`);
    console.log(`# PEFT merge: max |logit diff| ${m.diff} (PyTorch merged vs unmerged ${ref.merge_vs_adapter_max_abs})`);
    tf.dispose([value, mine, ...Object.values(grads)]);
    lora.dispose();
    hf.model.dispose();
  },
);

test('one Flower step with full fine-tuning: loss and base-weight gradients equal PyTorch', { skip }, async () => {
  await initBackend('auto');
  const tf = getTf();
  const o = oracle();
  const dir = mkdtempSync(join(tmpdir(), 'fl-fullft-'));
  const hf = loadHfModel(join(o.dir, 'llama-untied'));
  const f = fixture();
  const vars = hf.model.setTrainable('all');
  const names = Object.keys(hf.model.weights);
  const policy = new LmTrainable(new LmPolicy(hf.model, 151643), f.vocab, { names, weights: hf.model.weights }, (h) => f.prompts[h[0]], 64);
  const B = 4;
  const histories = Array.from({ length: B }, (_, b) => [b + 2]);
  const sampled = await sampleTitles(policy, f.trie, f.vocab, histories, { temperature: 1, rng: new Rng(9) });
  const samples = sampled.map((s) => ({ input: s.tokens.slice(0, -1), logR: pathLogRewards(f.trie, s.titleIndex, 'none') }));
  const targets = f.targets.slice(2, 2 + B);
  const { value, grads } = tf.variableGrads(
    () => objective(policy, f.trie, f.vocab, { histories, targets, samples }, { theta: THETA, personalization: 'none' }).total,
    vars,
  );
  const pick = [
    'model.layers.0.self_attn.q_proj.weight',
    'model.layers.2.mlp.down_proj.weight',
    'model.layers.1.input_layernorm.weight',
    'model.norm.weight',
  ];
  const toModel = (ids: number[]) => f.vocab.decode(ids);
  const ref = runOracle(
    {
      model: join(o.dir, 'llama-untied'),
      adapter: null,
      theta: THETA,
      terminal: f.vocab.toTokenizer(f.vocab.terminal),
      grads: pick,
      rows: histories.map((h, b) => ({
        prompt: f.prompts[h[0]],
        sft: toModel(titleRows(f.trie, f.vocab, targets[b]).targets),
        gfn: { input: toModel(samples[b].input), logR: samples[b].logR },
      })),
    },
    dir,
  );
  const loss = value.dataSync()[0];
  assert.ok(Math.abs(loss - ref.loss) <= 1e-4 * Math.abs(ref.loss), `loss: Flowloop ${loss}, PyTorch ${ref.loss}`);
  for (const n of pick) {
    const r = maxRel(grads[hf.model.weights[n].name].dataSync(), ref.grads[n]);
    assert.ok(r.scale > 0 && r.diff <= 1e-4 * r.scale, `${n}: max |Flowloop − PyTorch| = ${r.diff}, max |grad| = ${r.scale}`);
  }
  tf.dispose([value, ...Object.values(grads)]);
  hf.model.dispose();
});

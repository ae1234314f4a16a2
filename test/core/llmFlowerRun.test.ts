/**
 * The flower kind with a pretrained causal LM (`policy.model`): examples/flower-movies-lm-lora.flowloop.json
 * run on Movies_and_TV with the tiny random Qwen2 of test/oracles/hf_tiny.py (its real Qwen2.5 tokenizer):
 * trains LoRA with micro-batches and linear decay, decodes under the trie, writes metrics and a PEFT
 * adapter; resuming from the epoch-1 checkpoint repeats the unbroken run (adapter dropout on). Full
 * fine-tuning saves a Hugging Face folder that Flowloop and the PyTorch oracle both load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../harness/paths';
import { runSingle } from '../../core/experiment/runner';
import type { RunEvent } from '../../core/experiment/events';
import { readPeftAdapter } from '../../core/llm/lora';
import { readSafetensorsHeader } from '../../core/llm/safetensors';
import { PYTHON, oracle, oracleUnavailable } from './llmOracle';

const skip = oracleUnavailable();
const EXAMPLE = join(ROOT, 'examples', 'flower-movies-lm-lora.flowloop.json');

async function run(overrides: Record<string, unknown>) {
  const base = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
  const config = {
    ...base,
    ...overrides,
    policy: { ...base.policy, model: join(oracle().dir, 'qwen2-tied-sharded'), ...((overrides.policy as object) ?? {}) },
  };
  const events: RunEvent[] = [];
  const outDir = mkdtempSync(join(tmpdir(), 'fl-lmrun-'));
  const r = await runSingle({ configPath: EXAMPLE, configObject: config, outDir, onEvent: (e) => events.push(e) });
  assert.equal(r.status, 'finished', `run failed: ${r.error}`);
  const series = (n: string) => events.filter((e) => e.type === 'metric' && (e as any).name === n).map((e) => (e as any).value as number);
  return { ...r, series, events };
}

const SMALL = {
  personalization: { mode: 'none' },
  mechanismRows: 0,
  warmupSteps: 1,
  maxTrainRows: 16,
  maxValidRows: 8,
  maxTestRows: 4,
  epochs: 2,
  batchSize: 8,
  microBatchSize: 4,
  gfnSamplesPerBatch: 4,
  decoding: { beams: 5, returned: 5 },
};

test(
  'examples/flower-movies-lm-lora with a tiny Qwen2: LoRA trains (micro-batches, linear decay), decodes under the trie, writes metrics and a PEFT adapter; resume from epoch 1 = unbroken run',
  { skip },
  async () => {
    const a = await run(SMALL);
    const total = a.series('train/total');
    assert.equal(total.length, 4, '16 rows / batch 8 = 2 steps × 2 epochs');
    assert.ok(a.series('train/gfn').length === 4 && a.series('train/sft').length === 4, 'both loss terms every step');
    const lr = a.series('train/lr');
    assert.ok(lr[3] < lr[2] && lr[2] < lr[1], `linear decay after warmup: ${lr.join(', ')}`);
    for (const k of ['ndcg@10', 'hr@10', 'dgu', 'mgu']) assert.equal(typeof a.metrics[k], 'number', `metrics.${k}`);
    const recs = readFileSync(join(a.runDir, 'recommendations.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(recs.length, 4);
    const catalogue = new Set(
      readFileSync(join(ROOT, '..', 'shared', 'data', 'amazon', 'Movies_and_TV', 'items.tsv'), 'utf8')
        .split('\n')
        .map((l) => l.split('\t')[0]),
    );
    for (const r of recs) {
      assert.equal(r.titles.length, 5);
      for (const t of r.titles) assert.ok(catalogue.has(t), `decoded title "${t}" is not a catalogue title (trie-constrained decoding)`);
    }
    const ad = readPeftAdapter(join(a.runDir, 'adapter'));
    assert.equal(ad.tensors.size, 28, 'q,k,v,o,gate,up,down × 2 layers × A,B');
    const bNorm = [...ad.tensors].filter(([n]) => n.includes('lora_B')).reduce((s, [, d]) => s + d.reduce((x, v) => x + v * v, 0), 0);
    assert.ok(bNorm > 0, 'training moved B away from its zero start');
    const runJson = JSON.parse(readFileSync(join(a.runDir, 'run.json'), 'utf8'));
    assert.match(JSON.stringify(runJson), /computed in float32/, 'run.json says the precision');

    const resumed = await run({ ...SMALL, resume: join(a.runDir, 'checkpoints', 'epoch-1') });
    assert.deepEqual(resumed.series('train/total'), total.slice(2), "resumed epoch 2 losses = the unbroken run's");
    assert.deepEqual(resumed.series('train/lr'), lr.slice(2));
    assert.equal(resumed.metrics['ndcg@10'], a.metrics['ndcg@10']);
    assert.deepEqual(
      readFileSync(join(resumed.runDir, 'recommendations.jsonl'), 'utf8'),
      readFileSync(join(a.runDir, 'recommendations.jsonl'), 'utf8'),
    );
    const ra = readPeftAdapter(join(resumed.runDir, 'adapter'));
    for (const [n, d] of ad.tensors)
      assert.deepEqual(Array.from(ra.tensors.get(n)!), Array.from(d), `${n}: resumed adapter = unbroken adapter`);
  },
);

test('full fine-tuning saves a Hugging Face folder (config, tokenizer, safetensors) that the PyTorch oracle loads', { skip }, async () => {
  const r = await run({ ...SMALL, epochs: 1, maxTrainRows: 8, checkpoints: false, policy: { lora: undefined } });
  const dir = join(r.runDir, 'model');
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors'])
    assert.ok(existsSync(join(dir, f)), `${f} in the saved model`);
  const names = Object.keys(readSafetensorsHeader(join(dir, 'model.safetensors')).tensors);
  assert.ok(names.includes('model.layers.1.self_attn.q_proj.bias') && !names.includes('lm_head.weight'), 'HF names; tied head not stored');
  const py = spawnSync(
    PYTHON,
    [
      '-c',
      `import sys; sys.path.insert(0, ${JSON.stringify(join(ROOT, 'test', 'oracles'))}); import hf_tiny; c, m = hf_tiny.load_folder(${JSON.stringify(dir)}); print(sum(p.numel() for p in m.parameters()))`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(py.status, 0, py.stderr);
  assert.ok(Number(py.stdout.trim()) > 1e6, `PyTorch loaded ${py.stdout.trim()} parameters`);
});

test(
  "policy.model problems stop the run before training with located errors: a missing folder (the examples' placeholder), a micro-batch that does not fit the backend's memory",
  { skip },
  async () => {
    const base = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
    const outDir = mkdtempSync(join(tmpdir(), 'fl-lmerr-'));
    const missing = await runSingle({ configPath: EXAMPLE, configObject: { ...base, maxTrainRows: 8 }, outDir });
    assert.equal(missing.status, 'failed');
    assert.match(String(missing.error), /model folder not found/);
    assert.match(String(missing.where), /models\/Qwen2\.5-0\.5B-Instruct$/, `located at the folder (where: ${missing.where})`);
    const t0 = Date.now();
    const huge = await runSingle({
      configPath: EXAMPLE,
      configObject: {
        ...base,
        ...SMALL,
        batchSize: 4096,
        microBatchSize: 0,
        policy: { ...base.policy, model: join(oracle().dir, 'qwen2-tied-sharded'), cutoff: 4096 },
      },
      outDir,
    });
    assert.equal(huge.status, 'failed');
    assert.match(String(huge.error), /memory estimate for training .* does not fit/);
    assert.match(String(huge.error), /micro-batch/, 'says what to change');
    assert.equal(huge.where, EXAMPLE, 'located in the config');
    const badPrompt = await runSingle({
      configPath: EXAMPLE,
      configObject: {
        ...base,
        ...SMALL,
        policy: { ...base.policy, model: join(oracle().dir, 'qwen2-tied-sharded'), prompt: { input: 'history: {titles}' } },
      },
      outDir,
    });
    assert.equal(badPrompt.status, 'failed');
    assert.match(String(badPrompt.error), /policy\.prompt.*\{titles\}/, String(badPrompt.error));
    console.log(`# memory check refused in ${Date.now() - t0} ms: ${String(huge.error).slice(0, 300)}`);
  },
);

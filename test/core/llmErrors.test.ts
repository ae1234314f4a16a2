/**
 * Located errors of the Hugging Face model loader (core/llm): an incomplete or unsupported folder names
 * the file and field, and nothing is downloaded. Folders are copies of the oracle's tiny models
 * (test/core/llmOracle.ts) with one thing broken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../core/tensor';
import { LocatedError } from '../../core/experiment/context';
import { checkModelFolder, loadHfModel } from '../../core/llm/load';
import { readSafetensors, writeSafetensors } from '../../core/llm/safetensors';
import { oracle, oracleUnavailable } from './llmOracle';

const skip = oracleUnavailable();

/** A copy of an oracle model folder with `edit` applied; returns the error `loadHfModel` throws. */
async function broken(model: string, edit: (dir: string) => void): Promise<LocatedError> {
  await initBackend('auto');
  const dir = join(mkdtempSync(join(tmpdir(), 'flowloop-hf-')), model);
  try {
    cpSync(join(oracle().dir, model), dir, { recursive: true, filter: (s) => !s.endsWith('.onnx') && !s.endsWith('.f32') });
    edit(dir);
    try {
      loadHfModel(dir);
    } catch (e) {
      assert.ok(e instanceof LocatedError, `expected a LocatedError, got ${String(e)}`);
      return e;
    }
    throw new Error('the broken folder loaded without error');
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
}

const json = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;

test('missing folder, config.json, tokenizer files and weights: each error names the path', { skip }, async () => {
  assert.throws(
    () => checkModelFolder('/nonexistent/qwen'),
    (e: LocatedError) => e.where === '/nonexistent/qwen' && /never downloads/.test(e.message),
  );
  let e = await broken('qwen2-untied-bf16', (d) => unlinkSync(join(d, 'config.json')));
  assert.match(e.where, /config\.json$/);
  e = await broken('qwen2-untied-bf16', (d) => unlinkSync(join(d, 'tokenizer.json')));
  assert.match(e.where, /tokenizer\.json$/);
  e = await broken('qwen2-untied-bf16', (d) => unlinkSync(join(d, 'tokenizer_config.json')));
  assert.match(e.where, /tokenizer_config\.json$/);
  e = await broken('qwen2-untied-bf16', (d) => unlinkSync(join(d, 'model.safetensors')));
  assert.match(e.message, /no weights/);
});

test('sharded index: a missing shard names the index entry; a tensor missing from the weights is named', { skip }, async () => {
  let e = await broken('qwen2-tied-sharded', (d) => unlinkSync(join(d, 'model-00002-of-00002.safetensors')));
  assert.match(e.where, /model\.safetensors\.index\.json: weight_map\.model\./);
  assert.match(e.message, /shard "model-00002-of-00002\.safetensors".*missing/);
  e = await broken('qwen2-untied-bf16', (d) => {
    const f = join(d, 'model.safetensors');
    const t = readSafetensors(f);
    t.delete('model.layers.1.self_attn.k_proj.bias');
    writeSafetensors(f, new Map([...t].map(([n, v]) => [n, { shape: v.shape, data: v.data, dtype: 'BF16' as const }])));
  });
  assert.match(e.where, /model\.layers\.1\.self_attn\.k_proj\.bias$/);
  assert.match(e.message, /missing/);
});

test('unsupported architecture, rope scaling, activation and inconsistent heads: config.json field named', { skip }, async () => {
  const edit = (patch: Record<string, unknown>) => (d: string) => {
    const f = join(d, 'config.json');
    writeFileSync(f, JSON.stringify({ ...json(f), ...patch }));
  };
  let e = await broken('llama-untied', edit({ architectures: ['MistralForCausalLM'] }));
  assert.match(e.where, /config\.json: architectures$/);
  assert.match(e.message, /MistralForCausalLM.*not supported.*Qwen2ForCausalLM, LlamaForCausalLM/);
  e = await broken('llama-untied', edit({ rope_scaling: { rope_type: 'yarn', factor: 4 } }));
  assert.match(e.where, /config\.json: rope_scaling\.rope_type$/);
  e = await broken('llama-untied', edit({ hidden_act: 'gelu' }));
  assert.match(e.where, /config\.json: hidden_act$/);
  e = await broken('llama-untied', edit({ num_key_value_heads: 3 }));
  assert.match(e.where, /config\.json: num_key_value_heads$/);
  e = await broken('llama-untied', edit({ hidden_size: 48 }));
  assert.match(e.message, /shape/); // weights no longer match the config: tensor named
});

test('safetensors writer round trip: F32 exact, BF16 round-to-nearest-even; header sorted and 8-aligned', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowloop-st-'));
  try {
    const f = join(dir, 'x.safetensors');
    const a = Float32Array.from([1.5, -2.25, 3.1415927, 1e-8, 65504, -0.0]);
    writeSafetensors(f, { 'b.w': { shape: [2, 3], data: a }, 'a.bf': { shape: [6], data: a, dtype: 'BF16' } });
    const raw = readFileSync(f);
    const n = Number(raw.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    const header = JSON.parse(raw.subarray(8, 8 + n).toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(header), ['__metadata__', 'a.bf', 'b.w']);
    const back = readSafetensors(f);
    assert.deepEqual(Array.from(back.get('b.w')!.data), Array.from(a));
    assert.deepEqual(back.get('b.w')!.shape, [2, 3]);
    // bf16 keeps 8 significand bits: 3.1415927 -> 3.140625, 1.5 and -2.25 exact
    assert.deepEqual(Array.from(back.get('a.bf')!.data).slice(0, 3), [1.5, -2.25, 3.140625]);
    assert.equal(back.get('a.bf')!.stored, 'BF16');
    // F16 (fp16 checkpoints) is read too: a hand-written file with 1.5, -2, 65504, 2^-24 and 2^-14
    const h = Buffer.from(JSON.stringify({ h: { dtype: 'F16', shape: [5], data_offsets: [0, 10] } }) + '      ');
    const bytes = Buffer.alloc(10);
    [0x3e00, 0xc000, 0x7bff, 0x0001, 0x0400].forEach((v, i) => bytes.writeUInt16LE(v, 2 * i));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    writeFileSync(join(dir, 'h.safetensors'), Buffer.concat([len, h, bytes]));
    assert.deepEqual(Array.from(readSafetensors(join(dir, 'h.safetensors')).get('h')!.data), [1.5, -2, 65504, 2 ** -24, 2 ** -14]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Save a fully fine-tuned causal LM as a Hugging Face model folder that `AutoModelForCausalLM.from_pretrained`
 * (and Flowloop's `policy.model`) loads: the source folder's config and tokenizer files copied as they are,
 * the weights under their Hugging Face names in the dtype the source stored them in (bf16 stays bf16 —
 * rounded to nearest even from the float32 training copy — else float32), as `model.safetensors` or, past
 * `shardBytes`, as shards with `model.safetensors.index.json` (transformers' sharded layout).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CausalLM } from './model';
import { writeSafetensors, type TensorToWrite } from './safetensors';

/** Source-folder files copied into a saved model (everything but the weights and Flowloop's own outputs). */
function copiedFiles(src: string): string[] {
  return readdirSync(src).filter(
    (f) => /\.(json|txt|model|jinja)$/.test(f) && f !== 'model.safetensors.index.json' && !f.startsWith('adapter_'),
  );
}

export async function saveHfFolder(
  lm: CausalLM,
  sourceDir: string,
  dir: string,
  opts: { dtype: 'F32' | 'BF16'; shardBytes?: number },
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const f of copiedFiles(sourceDir)) {
    copyFileSync(join(sourceDir, f), join(dir, f));
    written.push(f);
  }
  const per = opts.dtype === 'BF16' ? 2 : 4;
  const limit = opts.shardBytes ?? 2 * 1024 ** 3;
  const names = Object.keys(lm.weights).sort();
  const shards: string[][] = [[]];
  let size = 0,
    total = 0;
  for (const n of names) {
    const b = lm.weights[n].size * per;
    if (size > 0 && size + b > limit) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(n);
    size += b;
    total += b;
  }
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < shards.length; i++) {
    const file =
      shards.length === 1
        ? 'model.safetensors'
        : `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    const tensors = new Map<string, TensorToWrite>();
    for (const n of shards[i]) {
      tensors.set(n, { shape: lm.weights[n].shape, data: (await lm.weights[n].data()) as Float32Array, dtype: opts.dtype });
      weightMap[n] = file;
    }
    writeSafetensors(join(dir, file), tensors);
    written.push(file);
  }
  if (shards.length > 1) {
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n',
    );
    written.push('model.safetensors.index.json');
  } else if (existsSync(join(dir, 'model.safetensors.index.json'))) {
    throw new Error(`${dir} already holds a model.safetensors.index.json from another save`);
  }
  return written;
}

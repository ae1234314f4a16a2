/**
 * Load a local Hugging Face model folder (never a download): `config.json`, `model.safetensors` or
 * `model.safetensors.index.json` + shards, `tokenizer.json`, `tokenizer_config.json`, and the optional
 * `generation_config.json`. Every missing file or bad field is a located error naming the file.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LocatedError } from '../experiment/context';
import { readFolderJson, readHfConfig, type LlmConfig } from './hfConfig';
import { openModelWeights, type StoredDtype } from './safetensors';
import { loadHfTokenizer, type HfTokenizer } from './tokenizer';
import { CausalLM } from './model';

export interface HfModel {
  dir: string;
  config: LlmConfig;
  model: CausalLM;
  tokenizer: HfTokenizer;
  /** generation_config.json, when present. */
  generation?: Record<string, unknown>;
  /** Dtypes the weights were stored in. */
  storedDtypes: StoredDtype[];
  /** For run.json: what precision the model is computed in and why. */
  precision: string;
}

/** Check that a folder looks like a Hugging Face causal-LM folder; returns the config (cheap: no weights read). */
export function checkModelFolder(dir: string): LlmConfig {
  const d = resolve(dir);
  if (!existsSync(d) || !statSync(d).isDirectory())
    throw new LocatedError(
      'model folder not found (a local Hugging Face model folder; Flowloop never downloads models — see the README, "Bring a Hugging Face model")',
      d,
    );
  const cfg = readHfConfig(d);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    if (!existsSync(join(d, f))) throw new LocatedError(`${f} is missing from the model folder`, join(d, f));
  }
  if (!existsSync(join(d, 'model.safetensors')) && !existsSync(join(d, 'model.safetensors.index.json'))) {
    throw new LocatedError(
      'no weights: neither model.safetensors nor model.safetensors.index.json is in the model folder (PyTorch .bin checkpoints are not read: save with safe_serialization=True)',
      d,
    );
  }
  return cfg;
}

/** Precision note: weights widened to float32 when stored in half precision (tfjs computes in float32 only). */
export function precisionNote(dtypes: Iterable<string>, backend?: string): string {
  const ds = [...new Set(dtypes)].sort();
  const half = ds.filter((d) => d === 'BF16' || d === 'F16');
  const where = backend ? ` on the ${backend} backend` : '';
  return half.length
    ? `weights stored as ${ds.join('+')}, read and computed in float32${where} (the tfjs backends have no ${half.map((h) => h.toLowerCase()).join('/')} type)`
    : `weights stored as ${ds.join('+')}, computed in float32${where}`;
}

/** Load a model folder into Flowloop's tensor layer (call `initBackend` first). */
export function loadHfModel(dir: string, backend?: string): HfModel {
  const d = resolve(dir);
  const config = checkModelFolder(d);
  const tokenizer = loadHfTokenizer(d, config.vocabSize);
  let generation: Record<string, unknown> | undefined;
  const g = join(d, 'generation_config.json');
  if (existsSync(g)) generation = readFolderJson(g) as Record<string, unknown>;
  const { tensors, dtypes } = openModelWeights(d);
  const model = new CausalLM(config, tensors, d);
  tensors.clear();
  const storedDtypes = [...dtypes].sort();
  return { dir: d, config, model, tokenizer, generation, storedDtypes, precision: precisionNote(storedDtypes, backend) };
}

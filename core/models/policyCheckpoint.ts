/**
 * Policy checkpoints (written by Flower training each epoch; read to resume, to score and to export): `checkpoints/epoch-<n>/weights.bin` (all
 * float32 tensors, little-endian, concatenated: policy weights then AdamW moments) and `manifest.json`
 * (policy config, vocabulary, tensor table with offsets, optimizer step, training state).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocatedError } from '../experiment/context';
import type { PolicyConfig } from './policy';

/** A pretrained causal-LM policy in a checkpoint (core/flower/lmPolicy.ts; must match on resume): the weights are its TRAINABLE tensors (LoRA adapters under PEFT names, or every base weight). */
export interface LmPolicyRecord {
  kind: 'hf-causal-lm';
  model: string;
  architecture: string;
  lora: { r: number; alpha: number; dropout: number; targetModules: string[] } | null;
  cutoff: number;
  maxHistory: number;
  maxTokens: number;
  /** The prompt template and category word the model was trained with. */
  prompt: { instruction: string; input: string; historySeparator: string; category: string };
}

/** `S` is the training state the trainer stores (core/flower/train.ts TrainState); readers that only need the weights leave it unknown. */
export interface CheckpointManifest<S = unknown> {
  format: 'flowloop-flower-checkpoint/1';
  epoch: number;
  /** The from-scratch policy's architecture, or the pretrained LM's record. */
  policy: PolicyConfig | LmPolicyRecord;
  vocab: { tokenizerIds: number[]; terminal: number };
  tokenizer: string;
  titleEnd: string;
  optimizerStep: number;
  state: S;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
  /** Fingerprint of the training setup that must match on resume (dataset, objective...). */
  setup: Record<string, unknown>;
}

/** The from-scratch policy's architecture of a checkpoint; a located error when it holds a pretrained-LM policy (its weights are not a TransformerPolicy's). */
export function transformerConfig(manifest: CheckpointManifest, where: string): PolicyConfig {
  const p = manifest.policy;
  if ('kind' in p)
    throw new LocatedError(
      `this checkpoint holds a pretrained ${p.architecture} policy (${p.model}${p.lora ? ', LoRA' : ''}), not the from-scratch Flower policy: use its run's adapter/ or model/ folder with the LM`,
      where,
    );
  return p;
}

/** Serialise named tensors: the binary and the tensor table (offsets in float32 elements). */
export function packTensors(
  tensors: Map<string, Float32Array>,
  shapes: Map<string, number[]>,
): { bin: Uint8Array; table: CheckpointManifest['tensors'] } {
  let total = 0;
  for (const a of tensors.values()) total += a.length;
  const all = new Float32Array(total);
  const table: CheckpointManifest['tensors'] = [];
  let off = 0;
  for (const [name, a] of tensors) {
    all.set(a, off);
    table.push({ name, shape: shapes.get(name) ?? [a.length], offset: off, length: a.length });
    off += a.length;
  }
  return { bin: new Uint8Array(all.buffer), table };
}

/** Read a checkpoint folder (manifest.json + weights.bin). */
export function readCheckpoint<S = unknown>(dir: string): { manifest: CheckpointManifest<S>; tensors: Map<string, Float32Array> } {
  const mf = join(dir, 'manifest.json');
  if (!existsSync(mf)) throw new LocatedError('no manifest.json in checkpoint folder', dir);
  let manifest: CheckpointManifest<S>;
  try {
    manifest = JSON.parse(readFileSync(mf, 'utf8'));
  } catch (e) {
    throw new LocatedError(`bad checkpoint manifest: ${(e as Error).message}`, mf);
  }
  if (manifest.format !== 'flowloop-flower-checkpoint/1')
    throw new LocatedError(`unknown checkpoint format ${JSON.stringify(manifest.format)}`, mf);
  const buf = readFileSync(join(dir, 'weights.bin'));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const tensors = new Map<string, Float32Array>();
  for (const t of manifest.tensors) {
    if (t.offset + t.length > all.length)
      throw new LocatedError(`tensor ${t.name} runs past the end of weights.bin`, join(dir, 'weights.bin'));
    tensors.set(t.name, all.subarray(t.offset, t.offset + t.length));
  }
  return { manifest, tensors };
}

/**
 * Resolve a `resume` path: a checkpoint folder (has manifest.json), a run folder (its latest
 * checkpoints/epoch-N) or a run's checkpoints/ folder.
 */
export function resolveCheckpoint(path: string): string {
  if (existsSync(join(path, 'manifest.json'))) return path;
  for (const dir of [join(path, 'checkpoints'), path]) {
    if (!existsSync(dir)) continue;
    const epochs = readdirSync(dir)
      .map((d) => /^epoch-(\d+)$/.exec(d))
      .filter((m): m is RegExpExecArray => !!m && existsSync(join(dir, m[0], 'manifest.json')))
      .sort((a, b) => Number(b[1]) - Number(a[1]));
    if (epochs.length) return join(dir, epochs[0][0]);
  }
  throw new LocatedError(
    'no checkpoint found (expected a checkpoint folder with manifest.json, or a run folder with checkpoints/epoch-N)',
    path,
  );
}

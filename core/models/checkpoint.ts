/**
 * Model folders: `manifest.json` + `weights.bin` (./weights.ts). Flowloop checkpoints record the
 * architecture and hyper-parameters in the manifest; reference exports (../shared/data/models/*)
 * do not, so the architecture is recognised from the parameter names and sizes read from the shapes.
 *
 * Training checkpoints (`checkpoints/last/`, `checkpoints/epoch-N/`) are model folders that can also
 * resume a run (docs/design.md: "a run can be resumed from its last checkpoint"): their manifest carries a
 * `training` block (epoch/step counters, early-stopping state, Adam's iteration count and β powers) and
 * `optimizer.bin` beside weights.bin holds Adam's moments and, when the best epoch is an earlier one,
 * that epoch's weights (same float32 little-endian layout, tensor table in `training.tensors`).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { LocatedError } from '../experiment/context';
import { Rng } from '../util/random';
import { createModel } from './factory';
import type { ModelKind, SeqModelBase, SeqModelConfig } from './layers';
import type { TrainCheckpoint, TrainState } from './train';
import { encodeWeights, readWeights, type NamedArray, type TensorEntry, type WeightsManifest } from './weights';
import { join } from 'node:path';

export const CHECKPOINT_FORMAT = 'flowloop-seq-v1';

/** manifest.json text and weights.bin bytes of a model (plus free-form `extra` fields, e.g. epoch, metrics). */
export function serializeModel(model: SeqModelBase, extra: Record<string, unknown> = {}): { manifest: string; bin: Uint8Array } {
  const { manifest, bin } = encodeWeights(model.toArrays(), {
    format: CHECKPOINT_FORMAT,
    model: model.config.model,
    config: { ...model.config },
    ...extra,
  });
  return { manifest: JSON.stringify(manifest, null, 1), bin };
}

/** The architecture of a weights manifest: the recorded one, else recognised from parameter names/shapes. */
export function inferConfig(manifest: WeightsManifest, arrays: Map<string, NamedArray>, where: string): SeqModelConfig {
  if (manifest.format === CHECKPOINT_FORMAT && manifest.config) return manifest.config as unknown as SeqModelConfig;
  const shape = (n: string) => {
    const a = arrays.get(n);
    if (!a) throw new LocatedError(`parameter ${n} missing (not a SASRec/GRU4Rec/Caser export)`, where);
    return a.shape;
  };
  const [numItems, D] = shape('s_fc.weight');
  const hidden = shape('item_embeddings.weight')[1];
  let model: ModelKind;
  if (arrays.has('mh_attn.linear_q.weight')) model = 'sasrec';
  else if (arrays.has('gru.weight_ih_l0')) model = 'gru4rec';
  else if (arrays.has('horizontal_cnn.0.weight')) model = 'caser';
  else throw new LocatedError('cannot tell the architecture from the parameter names (expected SASRec, GRU4Rec or Caser names)', where);
  const config: SeqModelConfig = { model, numItems, hidden, maxLen: 10, dropout: 0 };
  if (model === 'sasrec') config.maxLen = shape('positional_embeddings.weight')[0];
  if (model === 'caser') {
    config.maxLen = shape('vertical_cnn.weight')[2];
    const sizes: number[] = [];
    for (let i = 0; arrays.has(`horizontal_cnn.${i}.weight`); i++) sizes.push(shape(`horizontal_cnn.${i}.weight`)[2]);
    config.filterSizes = sizes;
    config.numFilters = shape('horizontal_cnn.0.weight')[0];
    if (D !== hidden + sizes.length * config.numFilters) throw new LocatedError(`s_fc input ${D} does not match Caser features`, where);
  }
  if (shape('item_embeddings.weight')[0] !== numItems + 1)
    throw new LocatedError(
      `item_embeddings has ${shape('item_embeddings.weight')[0]} rows, expected numItems+1 = ${numItems + 1} (padding row)`,
      where,
    );
  return config;
}

/** Build a tfjs model from a folder with manifest.json + weights.bin (PyTorch export or Flowloop checkpoint). */
export function loadModelDir(dir: string): { model: SeqModelBase; manifest: WeightsManifest } {
  const { manifest, arrays } = readWeights(dir);
  const where = join(dir, 'manifest.json');
  const config = inferConfig(manifest, arrays, where);
  const model = createModel({ ...config, dropout: config.dropout ?? 0 }, new Rng(0));
  try {
    model.loadArrays(arrays, where);
  } catch (e) {
    model.dispose();
    throw new LocatedError((e as Error).message.replace(`${where}: `, ''), where);
  }
  return { model, manifest };
}

/** Import PyTorch weights (manifest.json + weights.bin, docs/methods.md §C names) as a tfjs model. */
export function importTorchWeights(dir: string): SeqModelBase {
  return loadModelDir(dir).model;
}

/** Name of the optimizer-state file beside weights.bin in a training checkpoint. */
export const OPTIMIZER_FILE = 'optimizer.bin';

/** The manifest's `training` block of a resumable checkpoint. */
export interface TrainingBlock {
  state: TrainState;
  adam: TrainCheckpoint['adam'];
  /** Setup the checkpoint was trained with (dataset, seed, batch size, ...), compared on resume. */
  setup: Record<string, unknown>;
  file: string;
  /** `<param>/m`, `<param>/v` (Adam moments) and `best/<param>` (best epoch's weights) in optimizer.bin. */
  tensors: TensorEntry[];
  /**
   * FNV-1a of weights.bin and optimizer.bin: the three files of `checkpoints/last` are replaced one by one
   * (manifest last), so a crash in between leaves files of two epochs, which these expose.
   */
  checksums?: { weights: string; optimizer: string };
}

/** 32-bit FNV-1a of bytes, as 8 hex digits (checkpoint consistency, not security). */
export function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The `training` block (for the manifest) and optimizer.bin bytes of a training checkpoint. */
export function serializeTrainCheckpoint(
  ck: TrainCheckpoint,
  setup: Record<string, unknown>,
): { training: TrainingBlock; bin: Uint8Array } {
  const arrays: NamedArray[] = [];
  const add = (map: Map<string, Float32Array> | undefined, name: (p: string) => string) => {
    for (const [p, data] of map ?? []) arrays.push({ name: name(p), shape: [data.length], data });
  };
  add(ck.m, (p) => `${p}/m`);
  add(ck.v, (p) => `${p}/v`);
  add(ck.best, (p) => `best/${p}`);
  const { manifest, bin } = encodeWeights(arrays, {});
  // -Infinity (no best epoch yet) is not JSON: it is written as null and read back
  return { training: { state: ck.state, adam: ck.adam, setup, file: OPTIMIZER_FILE, tensors: manifest.tensors }, bin };
}

/**
 * Where to resume from: a checkpoint folder (manifest.json with a `training` block), or a run folder
 * (its `checkpoints/last`, else its latest `checkpoints/epoch-N`), or a run's `checkpoints/` folder.
 */
export function resolveResume(path: string): string {
  if (!existsSync(path)) throw new LocatedError('resume: no such file or folder', path);
  const candidates: string[] = [];
  if (existsSync(join(path, 'manifest.json'))) candidates.push(path);
  for (const dir of [join(path, 'checkpoints'), path]) {
    if (!existsSync(dir)) continue;
    candidates.push(join(dir, 'last'));
    const epochs = readdirSync(dir)
      .map((d) => /^epoch-(\d+)$/.exec(d))
      .filter((m): m is RegExpExecArray => !!m)
      .sort((a, b) => Number(b[1]) - Number(a[1]));
    candidates.push(...epochs.map((m) => join(dir, m[0])));
  }
  for (const c of candidates) {
    const mf = join(c, 'manifest.json');
    if (!existsSync(mf)) continue;
    let training: unknown;
    try {
      training = JSON.parse(readFileSync(mf, 'utf8')).training;
    } catch {
      continue;
    }
    if (training) return c;
    if (c === path)
      throw new LocatedError(
        'this model folder has no training state (optimizer, epoch): start from it with "init" instead, or resume from a run folder / checkpoints/last',
        mf,
      );
  }
  throw new LocatedError(
    'resume: no training checkpoint found (expected a checkpoint folder with manifest.json + weights.bin + optimizer.bin, or a run folder with checkpoints/last)',
    path,
  );
}

/** Read a training checkpoint: the model (as `loadModelDir`) and the state to pass to trainModel's `resume`. */
export function readTrainCheckpoint(dir: string): {
  model: SeqModelBase;
  manifest: WeightsManifest;
  checkpoint: TrainCheckpoint;
  setup: Record<string, unknown>;
} {
  const { model, manifest } = loadModelDir(dir);
  const mf = join(dir, 'manifest.json');
  const tr = manifest.training as TrainingBlock | undefined;
  if (!tr || typeof tr !== 'object' || !tr.state || !tr.adam || !Array.isArray(tr.tensors)) {
    model.dispose();
    throw new LocatedError('no "training" block: not a resumable checkpoint', mf, 'training');
  }
  const file = join(dir, tr.file ?? OPTIMIZER_FILE);
  if (!existsSync(file)) {
    model.dispose();
    throw new LocatedError(`${tr.file ?? OPTIMIZER_FILE} missing beside manifest.json`, dir);
  }
  const buf = readFileSync(file);
  if (tr.checksums) {
    const bad = [
      ['weights.bin', readFileSync(join(dir, 'weights.bin')), tr.checksums.weights],
      [tr.file, buf, tr.checksums.optimizer],
    ]
      .filter(([, bytes, sum]) => fnv1a(bytes as Uint8Array) !== sum)
      .map(([name]) => name);
    if (bad.length) {
      model.dispose();
      throw new LocatedError(
        `${bad.join(' and ')} do not belong to this manifest (a write was interrupted?): resume from an earlier checkpoints/epoch-N`,
        mf,
        'training.checksums',
      );
    }
  }
  const m = new Map<string, Float32Array>(),
    v = new Map<string, Float32Array>(),
    best = new Map<string, Float32Array>();
  tr.tensors.forEach((t, i) => {
    if (t.offset_bytes % 4 !== 0 || t.offset_bytes + 4 * t.num_elements > buf.length) {
      model.dispose();
      throw new LocatedError(`${t.name}: bytes outside ${tr.file} (${buf.length} bytes)`, mf, `training.tensors[${i}]`);
    }
    const data = new Float32Array(t.num_elements);
    for (let k = 0; k < data.length; k++) data[k] = buf.readFloatLE(t.offset_bytes + 4 * k);
    if (t.name.startsWith('best/')) best.set(t.name.slice(5), data);
    else if (t.name.endsWith('/m')) m.set(t.name.slice(0, -2), data);
    else if (t.name.endsWith('/v')) v.set(t.name.slice(0, -2), data);
  });
  const state: TrainState = { ...tr.state, bestScore: tr.state.bestScore ?? -Infinity };
  return { model, manifest, checkpoint: { state, adam: tr.adam, m, v, best: best.size ? best : undefined }, setup: tr.setup ?? {} };
}

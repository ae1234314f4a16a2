/**
 * Model folders: `manifest.json` + `weights.bin` (./weights.ts). Flowloop checkpoints record the
 * architecture and hyper-parameters in the manifest; reference exports (../shared/data/models/*)
 * do not, so the architecture is recognised from the parameter names and sizes read from the shapes.
 */
import { LocatedError } from '../experiment/context';
import { Rng } from '../util/random';
import { createModel } from './factory';
import type { ModelKind, SeqModelBase, SeqModelConfig } from './layers';
import { encodeWeights, readWeights, type NamedArray, type WeightsManifest } from './weights';
import { join } from 'node:path';

export const CHECKPOINT_FORMAT = 'flowloop-seq-v1';

/** manifest.json text and weights.bin bytes of a model (plus free-form `extra` fields, e.g. epoch, metrics). */
export function serializeModel(model: SeqModelBase, extra: Record<string, unknown> = {}): { manifest: string; bin: Uint8Array } {
  const { manifest, bin } = encodeWeights(model.toArrays(), { format: CHECKPOINT_FORMAT, model: model.config.model, config: { ...model.config }, ...extra });
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
  if (shape('item_embeddings.weight')[0] !== numItems + 1) throw new LocatedError(`item_embeddings has ${shape('item_embeddings.weight')[0]} rows, expected numItems+1 = ${numItems + 1} (padding row)`, where);
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

/** Import PyTorch weights (manifest.json + weights.bin, SASREC.md names) as a tfjs model (issue 5 item 2). */
export function importTorchWeights(dir: string): SeqModelBase {
  return loadModelDir(dir).model;
}

/**
 * loadScorer: one entry point for every scorer (docs/methods.md §B3 "any base model").
 * `dir` holds manifest.json + weights.bin (imported PyTorch weights or a Flowloop checkpoint; engine
 * 'tfjs') and/or model.onnx (engine 'onnx'). Without an engine: tfjs when weights are there, else onnx.
 * A Flower policy checkpoint (checkpoint folder, run folder or its checkpoints/ folder) loads as a
 * FlowerPolicyScorer (core/models/policyScorer.ts: title log-probs, tfjs only; needs the catalogue it
 * was trained on — `catalogue`, `dataset`, or the run folder's config).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LocatedError } from '../experiment/context';
import type { Catalogue } from '../data/catalogue';
import type { Scorer } from './scorer';

export type Engine = 'tfjs' | 'onnx';

export interface LoadScorerOptions {
  engine?: Engine;
  /** Tensor backend for the tfjs engine (config `device`). */
  device?: 'auto' | 'gpu' | 'cpu' | 'wasm';
  /** Flower policy checkpoints: item id -> title of the dataset it was trained on. */
  catalogue?: Catalogue;
  /** Flower policy checkpoints: the Amazon dataset folder it was trained on (when no catalogue is given). */
  dataset?: string;
  /** Flower policy checkpoints: score = Σ log p / tokens^lengthPenalty (docs/methods.md §A7; default 1). */
  lengthPenalty?: number;
}

export async function loadScorer(dir: string, opts: LoadScorerOptions = {}): Promise<Scorer> {
  if (!existsSync(dir)) throw new LocatedError('model folder not found', dir);
  const { flowerCheckpointDir, FlowerPolicyScorer } = await import('./policyScorer');
  const flower = flowerCheckpointDir(dir);
  if (flower) {
    if (opts.engine === 'onnx') throw new LocatedError('a Flower policy checkpoint scores with the tfjs engine (set engine to tfjs)', dir);
    return FlowerPolicyScorer.load(flower, {
      catalogue: opts.catalogue,
      dataset: opts.dataset,
      device: opts.device,
      lengthPenalty: opts.lengthPenalty,
    });
  }
  const onnxFile = statSync(dir).isFile() ? dir : join(dir, 'model.onnx');
  const hasWeights = statSync(dir).isDirectory() && existsSync(join(dir, 'manifest.json'));
  const engine: Engine = opts.engine ?? (hasWeights ? 'tfjs' : 'onnx');
  if (engine === 'onnx') {
    if (!existsSync(onnxFile)) throw new LocatedError('engine onnx: no model.onnx in this folder', dir);
    const { OnnxScorer } = await import('./onnxScorer');
    return OnnxScorer.load(onnxFile, basename(dir), { device: opts.device });
  }
  if (!hasWeights) throw new LocatedError('engine tfjs: no manifest.json + weights.bin in this folder', dir);
  const { initBackend } = await import('../tensor');
  const backend = await initBackend(opts.device ?? 'auto');
  const { loadModelDir } = await import('./checkpoint');
  const { TfjsScorer } = await import('./tfjsScorer');
  const { model, manifest } = loadModelDir(dir);
  const origin = manifest.format
    ? 'Flowloop checkpoint'
    : `imported PyTorch weights${manifest.source_checkpoint ? ` of ${manifest.source_checkpoint}` : ''}`;
  const arch = { sasrec: 'SASRec', gru4rec: 'GRU4Rec', caser: 'Caser' }[model.config.model];
  return new TfjsScorer(model, basename(dir), `${arch} (${origin}, tfjs ${backend.name})`);
}

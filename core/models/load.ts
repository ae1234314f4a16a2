/**
 * loadScorer: one entry point for every sequential scorer (issue 5 item 3).
 * `dir` holds manifest.json + weights.bin (imported PyTorch weights or a Flowloop checkpoint; engine
 * 'tfjs') and/or model.onnx (engine 'onnx'). Without an engine: tfjs when weights are there, else onnx.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LocatedError } from '../experiment/context';
import type { Scorer } from './scorer';

export type Engine = 'tfjs' | 'onnx';

export interface LoadScorerOptions {
  engine?: Engine;
  /** Tensor backend for the tfjs engine (config `device`). */
  device?: 'auto' | 'gpu' | 'cpu' | 'wasm';
}

export async function loadScorer(dir: string, opts: LoadScorerOptions = {}): Promise<Scorer> {
  if (!existsSync(dir)) throw new LocatedError('model folder not found', dir);
  const onnxFile = statSync(dir).isFile() ? dir : join(dir, 'model.onnx');
  const hasWeights = statSync(dir).isDirectory() && existsSync(join(dir, 'manifest.json'));
  const engine: Engine = opts.engine ?? (hasWeights ? 'tfjs' : 'onnx');
  if (engine === 'onnx') {
    if (!existsSync(onnxFile)) throw new LocatedError('engine onnx: no model.onnx in this folder', dir);
    const { OnnxScorer } = await import('./onnx-scorer');
    return OnnxScorer.load(onnxFile, basename(dir));
  }
  if (!hasWeights) throw new LocatedError('engine tfjs: no manifest.json + weights.bin in this folder', dir);
  const { initModelsTf } = await import('./tf');
  const backend = await initModelsTf(opts.device ?? 'auto');
  const { loadModelDir } = await import('./checkpoint');
  const { TfjsScorer } = await import('./tfjs-scorer');
  const { model, manifest } = loadModelDir(dir);
  const origin = manifest.format ? 'Flowloop checkpoint' : `imported PyTorch weights${manifest.source_checkpoint ? ` of ${manifest.source_checkpoint}` : ''}`;
  const arch = { sasrec: 'SASRec', gru4rec: 'GRU4Rec', caser: 'Caser' }[model.config.model];
  return new TfjsScorer(model, basename(dir), `${arch} (${origin}, tfjs ${backend.name})`);
}

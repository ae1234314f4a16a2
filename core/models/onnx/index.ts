/**
 * ONNX export of Flowloop's models: `sasrecToOnnx(weights)` builds a model.onnx with the
 * interface of the reference exports (seq int64 [B,L], len int64 [B] -> logits [B, numItems]), loadable
 * by OnnxScorer (core/models/onnxScorer.ts) and onnxruntime-node; `policyToOnnx(weights, cfg)` the Flower
 * policy's next-token log-probs, run by `OnnxStepPolicy` (a core/decode StepPolicy). `OnnxGraph` is the writer.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export { OnnxGraph, DT } from './graph';
export { sasrecToOnnx, type WeightMap, type WeightArray } from './sasrec';
export { policyToOnnx, policyFeeds, OnnxStepPolicy, type PolicyOnnxConfig, type PolicyWeights } from './policy';

/** Write ONNX bytes atomically (temp file + rename). */
export function writeOnnx(file: string, bytes: Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

/**
 * Weight files: `manifest.json` + `weights.bin` (float32 little-endian, PyTorch parameter names and
 * shapes, Linear weights [out, in]) — the format of ../shared/data/models/* (docs/methods.md §C) and of
 * Flowloop's own checkpoints, which add `format`, `model` and `config` to the same manifest.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocatedError } from '../experiment/context';

export interface TensorEntry {
  name: string;
  shape: number[];
  offset_bytes: number;
  num_elements: number;
}

export interface WeightsManifest {
  /** 'flowloop-seq-v1' for Flowloop checkpoints; absent for the exported reference checkpoints. */
  format?: string;
  /** Architecture ('sasrec' | 'gru4rec' | 'caser'); absent = SASRec (the reference exports). */
  model?: string;
  /** Model hyper-parameters (Flowloop checkpoints). */
  config?: Record<string, unknown>;
  source_checkpoint?: string;
  dtype: string;
  byte_order: string;
  tensors: TensorEntry[];
  [extra: string]: unknown;
}

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Read manifest.json + weights.bin from `dir`; errors name the file and the manifest entry. */
export function readWeights(dir: string): { manifest: WeightsManifest; arrays: Map<string, NamedArray> } {
  const mPath = join(dir, 'manifest.json');
  const bPath = join(dir, 'weights.bin');
  if (!existsSync(mPath)) throw new LocatedError('no manifest.json (expected manifest.json + weights.bin)', dir);
  if (!existsSync(bPath)) throw new LocatedError('weights.bin missing beside manifest.json', dir);
  let manifest: WeightsManifest;
  try {
    manifest = JSON.parse(readFileSync(mPath, 'utf8'));
  } catch (e) {
    throw new LocatedError(`not valid JSON: ${(e as Error).message}`, mPath);
  }
  if (!Array.isArray(manifest.tensors)) throw new LocatedError('"tensors" must be an array', mPath, 'tensors');
  if ((manifest.dtype ?? 'float32') !== 'float32')
    throw new LocatedError(`dtype ${manifest.dtype} not supported (float32 only)`, mPath, 'dtype');
  if ((manifest.byte_order ?? 'little') !== 'little')
    throw new LocatedError(`byte_order ${manifest.byte_order} not supported`, mPath, 'byte_order');
  const buf = readFileSync(bPath);
  const arrays = new Map<string, NamedArray>();
  manifest.tensors.forEach((t, i) => {
    const where = `tensors[${i}]`;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.num_elements)
      throw new LocatedError(
        `${t.name}: shape ${JSON.stringify(t.shape)} has ${n} elements, num_elements says ${t.num_elements}`,
        mPath,
        where,
      );
    if (t.offset_bytes % 4 !== 0 || t.offset_bytes + 4 * n > buf.length)
      throw new LocatedError(
        `${t.name}: bytes ${t.offset_bytes}..${t.offset_bytes + 4 * n} outside weights.bin (${buf.length} bytes)`,
        mPath,
        where,
      );
    const data = new Float32Array(n);
    for (let k = 0; k < n; k++) data[k] = buf.readFloatLE(t.offset_bytes + 4 * k);
    arrays.set(t.name, { name: t.name, shape: t.shape, data });
  });
  return { manifest, arrays };
}

/** Encode arrays into a manifest (with `meta` fields) and the weights.bin bytes. */
export function encodeWeights(arrays: NamedArray[], meta: Partial<WeightsManifest>): { manifest: WeightsManifest; bin: Uint8Array } {
  const total = arrays.reduce((a, t) => a + t.data.length, 0);
  const bin = new Uint8Array(total * 4);
  const view = new DataView(bin.buffer);
  const tensors: TensorEntry[] = [];
  let off = 0;
  for (const t of arrays) {
    tensors.push({ name: t.name, shape: t.shape, offset_bytes: off, num_elements: t.data.length });
    for (let k = 0; k < t.data.length; k++) view.setFloat32(off + 4 * k, t.data[k], true);
    off += 4 * t.data.length;
  }
  return { manifest: { dtype: 'float32', byte_order: 'little', ...meta, tensors }, bin };
}

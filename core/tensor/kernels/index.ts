/**
 * Flowloop's kernels registered into tfjs. Each replaces a stock kernel of one backend
 * or adds a kernel tfjs lacks; `unregisterFlowloopKernels` restores the stock set (tests use it to get the
 * reference behaviour). On wasm, the native OpenBLAS kernels (core/tensor/native.ts) are used when built,
 * else the wasm/JS ones.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { unsortedSegmentSum } from './segmentSum';
import { wasmBatchMatMul } from './batchMatMul';
import { wasmGatherV2 } from './gather';
import { wasmSum } from './sum';
import { wasmCast, wasmIdentity } from './identity';
import { adamKernels } from './adam';
import { wasmTile } from './tile';
import { wasmSlice } from './slice';
import { layerNormKernels } from './layerNorm';
import { softmaxCrossEntropyKernels } from './softmaxCrossEntropy';
import { nativeWasmKernels } from './native';
import { dropoutMaskKernel } from './dropoutMask';
import { loadNative } from '../native';

type Tf = typeof import('@tensorflow/tfjs-core');

export interface KernelSet {
  backend: string;
  kernels: string[];
  /** Whether the native (OpenBLAS) kernels are in use, and why / why not. */
  native: boolean;
  nativeWhy: string;
}

const saved = new Map<string, KernelConfig | null>(); // `${backend}/${kernel}` -> stock config (null: none)
const enabled = new Map<string, KernelSet>();

function kernelsFor(tf: Tf, backend: string, useNative: boolean): { ks: KernelConfig[]; native: boolean; why: string } {
  const ks: KernelConfig[] = [];
  let native = false,
    why = 'native kernels only for the wasm backend';
  if (backend === 'wasm') {
    const nat = useNative ? loadNative() : { mod: undefined, why: 'native kernels not requested' };
    why = nat.why;
    const colsum = nat.mod?.colsum?.bind(nat.mod);
    ks.push(
      unsortedSegmentSum('wasm'),
      dropoutMaskKernel('wasm', nat.mod),
      wasmGatherV2(tf),
      wasmSum(tf, colsum),
      wasmIdentity(tf),
      wasmCast(tf),
      wasmTile(tf),
      wasmSlice(tf),
      ...adamKernels('wasm', nat.mod),
      ...layerNormKernels('wasm', nat.mod),
      wasmBatchMatMul(tf, nat.mod),
      ...softmaxCrossEntropyKernels('wasm', nat.mod),
    );
    if (nat.mod) ks.push(...nativeWasmKernels(tf, nat.mod));
    native = !!nat.mod;
  }
  if (backend === 'cpu')
    ks.push(
      unsortedSegmentSum('cpu'),
      dropoutMaskKernel('cpu'),
      ...softmaxCrossEntropyKernels('cpu'),
      ...adamKernels('cpu'),
      ...layerNormKernels('cpu'),
    );
  return { ks, native, why };
}

function replace(tf: Tf, k: KernelConfig): void {
  const key = `${k.backendName}/${k.kernelName}`;
  const stock = tf.getKernel(k.kernelName, k.backendName);
  if (!saved.has(key)) saved.set(key, stock ?? null);
  if (stock) tf.unregisterKernel(k.kernelName, k.backendName);
  tf.registerKernel(k);
}

/**
 * Register Flowloop's kernels for `backend` ('wasm' | 'cpu'; others get none). Idempotent for the same
 * options. `native: false` forces the wasm/JS kernels even when the native ones are built.
 */
export function registerFlowloopKernels(tf: Tf, backend: string, opts: { native?: boolean } = {}): KernelSet {
  const useNative = opts.native ?? true;
  const done = enabled.get(backend);
  if (done && (done.native === (useNative && !!loadNative().mod) || backend !== 'wasm')) return done;
  if (done) unregisterFlowloopKernels(tf, backend);
  // Configs are built from the stock kernels before any is replaced (some wrap the stock one).
  const { ks, native, why } = kernelsFor(tf, backend, useNative);
  for (const k of ks) replace(tf, k);
  const set: KernelSet = { backend, kernels: ks.map((k) => k.kernelName), native, nativeWhy: why };
  enabled.set(backend, set);
  return set;
}

/** Put the stock kernels of `backend` back (kernels tfjs lacks are removed). */
export function unregisterFlowloopKernels(tf: Tf, backend: string): void {
  if (!enabled.has(backend)) return;
  for (const [key, stock] of saved) {
    const [b, name] = key.split('/');
    if (b !== backend) continue;
    if (tf.getKernel(name, b)) tf.unregisterKernel(name, b);
    if (stock) tf.registerKernel(stock);
    saved.delete(key);
  }
  enabled.delete(backend);
}

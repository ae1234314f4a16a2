/**
 * Flowloop's kernels registered into tfjs (issue 4 item 2). Each replaces a stock kernel of one backend
 * or adds a kernel tfjs lacks; `unregisterFlowloopKernels` restores the stock set (tests use it to get the
 * reference behaviour).
 */
import type { KernelConfig } from '@tensorflow/tfjs';
import { cpuUnsortedSegmentSum, wasmUnsortedSegmentSum } from './segmentSum';
import { wasmBatchMatMul } from './batchMatMul';
import { wasmGatherV2 } from './gather';
import { softmaxCrossEntropyKernels } from './softmaxCrossEntropy';

type Tf = typeof import('@tensorflow/tfjs');

const saved = new Map<string, KernelConfig | null>(); // `${backend}/${kernel}` -> stock config (null: none)
const enabled = new Map<string, string[]>(); // backend -> kernel names registered

function kernelsFor(tf: Tf, backend: string): KernelConfig[] {
  const ks: KernelConfig[] = [];
  if (backend === 'wasm') ks.push(wasmUnsortedSegmentSum(), wasmBatchMatMul(tf), wasmGatherV2(tf));
  if (backend === 'cpu') ks.push(cpuUnsortedSegmentSum());
  if (backend === 'wasm' || backend === 'cpu') ks.push(...softmaxCrossEntropyKernels(backend));
  return ks;
}

function replace(tf: Tf, k: KernelConfig): void {
  const key = `${k.backendName}/${k.kernelName}`;
  const stock = tf.getKernel(k.kernelName, k.backendName);
  if (!saved.has(key)) saved.set(key, stock ?? null);
  if (stock) tf.unregisterKernel(k.kernelName, k.backendName);
  tf.registerKernel(k);
}

/** Register Flowloop's kernels for `backend` ('wasm' | 'cpu'; others get none). Idempotent. Returns their names. */
export function registerFlowloopKernels(tf: Tf, backend: string): string[] {
  const done = enabled.get(backend);
  if (done) return done;
  // Build configs from the stock kernels before replacing any (BatchMatMul wraps the stock one).
  const ks = kernelsFor(tf, backend);
  for (const k of ks) replace(tf, k);
  const names = ks.map((k) => k.kernelName);
  enabled.set(backend, names);
  return names;
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

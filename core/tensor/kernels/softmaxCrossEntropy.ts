/**
 * Fused log-softmax + gather of K labels per row: logp[n, k] = logits[n, label[n, k]] - logsumexp(logits[n, :])
 * (token log-probabilities of full-vocabulary softmax cross-entropy, docs/methods.md §A4/A7 policy log-probs; K = 2
 * gives a title token's and the terminal's log-prob from one softmax), and its gradient
 * dlogits[n, v] = Σ_k dlogp[n, k] · (1[v == label[n, k]] − p[n, v]) + dlse[n] · p[n, v], p = exp(logits − lse).
 * One pass over the [N, V] logits each way instead of ~15 elementwise kernels in stock tfjs. Labels
 * outside [0, V) give logp = 0 and no gradient (padding). Labels are [N] (K = 1) or [N, K].
 *
 * Kernels: 'FlowloopLogSoftmaxGather' (outputs logp shaped like labels, lse [N]) and
 * 'FlowloopLogSoftmaxGatherGrad' (inputs logits, labels, lse, dlogp, dlse -> dlogits), wasm and cpu.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { CpuBackendLike, WasmBackendLike } from './backendTypes';
import { fastExpNeg } from './fastMath';

export const LOG_SOFTMAX_GATHER = 'FlowloopLogSoftmaxGather';
export const LOG_SOFTMAX_GATHER_GRAD = 'FlowloopLogSoftmaxGatherGrad';

/** Forward on plain arrays (labels and logp hold N·K entries). */
export function logSoftmaxGatherForward(
  x: Float32Array,
  labels: ArrayLike<number>,
  N: number,
  V: number,
  K: number,
  logp: Float32Array,
  lse: Float32Array,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * V;
    let m = -Infinity;
    for (let v = 0; v < V; v++) if (x[o + v] > m) m = x[o + v];
    let s = 0;
    for (let v = 0; v < V; v++) s += fastExpNeg(x[o + v] - m);
    const l = m + Math.log(s);
    lse[n] = l;
    for (let k = 0; k < K; k++) {
      const y = labels[n * K + k];
      logp[n * K + k] = y >= 0 && y < V ? x[o + y] - l : 0;
    }
  }
}

/** Backward on plain arrays. */
export function logSoftmaxGatherBackward(
  x: Float32Array,
  labels: ArrayLike<number>,
  lse: Float32Array,
  dlogp: Float32Array,
  dlse: Float32Array,
  N: number,
  V: number,
  K: number,
  dx: Float32Array,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * V;
    let gs = 0;
    for (let k = 0; k < K; k++) {
      const y = labels[n * K + k];
      if (y >= 0 && y < V) gs += dlogp[n * K + k];
    }
    const c = dlse[n] - gs; // coefficient of p
    const l = lse[n];
    if (c === 0) dx.fill(0, o, o + V);
    else for (let v = 0; v < V; v++) dx[o + v] = c * fastExpNeg(x[o + v] - l);
    for (let k = 0; k < K; k++) {
      const y = labels[n * K + k];
      if (y >= 0 && y < V) dx[o + y] += dlogp[n * K + k];
    }
  }
}

/** K labels per row from a labels tensor [N] or [N, K] that must match logits' N. */
export function labelsPerRow(labels: TensorInfo, N: number): number {
  const K = labels.shape.length === 1 ? 1 : labels.shape.length === 2 ? labels.shape[1] : -1;
  if (K < 0 || labels.shape[0] !== N)
    throw new Error(`${LOG_SOFTMAX_GATHER}: labels must be [N] or [N, K] with N = ${N}, got [${labels.shape}]`);
  return K;
}

function dims(logits: TensorInfo): [number, number] {
  if (logits.shape.length !== 2) throw new Error(`${LOG_SOFTMAX_GATHER}: logits must be [N, V], got [${logits.shape}]`);
  return [logits.shape[0], logits.shape[1]];
}

export function softmaxCrossEntropyKernels(backendName: 'wasm' | 'cpu' | string): KernelConfig[] {
  if (backendName === 'wasm') {
    const fwd = (({
      inputs: { logits, labels },
      backend,
    }: {
      inputs: { logits: TensorInfo; labels: TensorInfo };
      backend: WasmBackendLike;
    }) => {
      const [N, V] = dims(logits);
      const K = labelsPerRow(labels, N);
      const logp = backend.makeOutput(labels.shape.slice(), 'float32');
      const lse = backend.makeOutput([N], 'float32');
      logSoftmaxGatherForward(
        backend.typedArrayFromHeap(logits) as Float32Array,
        backend.typedArrayFromHeap(labels),
        N,
        V,
        K,
        backend.typedArrayFromHeap(logp) as Float32Array,
        backend.typedArrayFromHeap(lse) as Float32Array,
      );
      return [logp, lse];
    }) as unknown as KernelFunc;
    const bwd = (({
      inputs: { logits, labels, lse, dlogp, dlse },
      backend,
    }: {
      inputs: Record<string, TensorInfo>;
      backend: WasmBackendLike;
    }) => {
      const [N, V] = dims(logits);
      const dx = backend.makeOutput([N, V], 'float32');
      const h = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
      logSoftmaxGatherBackward(
        h(logits),
        backend.typedArrayFromHeap(labels),
        h(lse),
        h(dlogp),
        h(dlse),
        N,
        V,
        labelsPerRow(labels, N),
        h(dx),
      );
      return dx;
    }) as unknown as KernelFunc;
    return [
      { kernelName: LOG_SOFTMAX_GATHER, backendName, kernelFunc: fwd },
      { kernelName: LOG_SOFTMAX_GATHER_GRAD, backendName, kernelFunc: bwd },
    ];
  }
  const fwd = (({
    inputs: { logits, labels },
    backend,
  }: {
    inputs: { logits: TensorInfo; labels: TensorInfo };
    backend: CpuBackendLike;
  }) => {
    const [N, V] = dims(logits);
    const K = labelsPerRow(labels, N);
    const logp = new Float32Array(N * K),
      lse = new Float32Array(N);
    const get = (t: TensorInfo) => backend.data.get(t.dataId).values as Float32Array;
    logSoftmaxGatherForward(get(logits), get(labels), N, V, K, logp, lse);
    return [backend.makeTensorInfo(labels.shape.slice(), 'float32', logp), backend.makeTensorInfo([N], 'float32', lse)];
  }) as unknown as KernelFunc;
  const bwd = (({
    inputs: { logits, labels, lse, dlogp, dlse },
    backend,
  }: {
    inputs: Record<string, TensorInfo>;
    backend: CpuBackendLike;
  }) => {
    const [N, V] = dims(logits);
    const get = (t: TensorInfo) => backend.data.get(t.dataId).values as Float32Array;
    const dx = new Float32Array(N * V);
    logSoftmaxGatherBackward(get(logits), get(labels), get(lse), get(dlogp), get(dlse), N, V, labelsPerRow(labels, N), dx);
    return backend.makeTensorInfo([N, V], 'float32', dx);
  }) as unknown as KernelFunc;
  return [
    { kernelName: LOG_SOFTMAX_GATHER, backendName, kernelFunc: fwd },
    { kernelName: LOG_SOFTMAX_GATHER_GRAD, backendName, kernelFunc: bwd },
  ];
}

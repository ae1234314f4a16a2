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
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { LogSoftmaxGatherBackward, LogSoftmaxGatherForward, NativeKernels } from '../native';
import { arrayKernel } from './defineKernel';
import { fastExpNeg } from './fastMath';

export const LOG_SOFTMAX_GATHER = 'FlowloopLogSoftmaxGather';
export const LOG_SOFTMAX_GATHER_GRAD = 'FlowloopLogSoftmaxGatherGrad';

/** Forward on plain arrays (labels and logp hold N·K entries). */
export const logSoftmaxGatherForward: LogSoftmaxGatherForward = (x, labels, N, V, K, logp, lse) => {
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
};

/** Backward on plain arrays. */
export const logSoftmaxGatherBackward: LogSoftmaxGatherBackward = (x, labels, lse, dlogp, dlse, N, V, K, dx) => {
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
};

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

type Fwd = { logits: TensorInfo; labels: TensorInfo };
type Bwd = Fwd & { lse: TensorInfo; dlogp: TensorInfo; dlse: TensorInfo };

/** The pair for `backendName` ('wasm': the native addon's when given, else JS; 'cpu': JS). */
export function softmaxCrossEntropyKernels(backendName: 'wasm' | 'cpu' | string, nat?: NativeKernels): KernelConfig[] {
  const fwdImpl = (backendName === 'wasm' && nat?.lsgFwd.bind(nat)) || logSoftmaxGatherForward;
  const bwdImpl = (backendName === 'wasm' && nat?.lsgBwd.bind(nat)) || logSoftmaxGatherBackward;
  return [
    arrayKernel<Fwd>(LOG_SOFTMAX_GATHER, backendName, (io, { logits, labels }) => {
      const [N, V] = dims(logits);
      const K = labelsPerRow(labels, N);
      const logp = io.out(labels.shape.slice()),
        lse = io.out([N]);
      fwdImpl(io.f32(logits), io.i32(labels), N, V, K, io.f32(logp), io.f32(lse));
      return [logp, lse];
    }),
    arrayKernel<Bwd>(LOG_SOFTMAX_GATHER_GRAD, backendName, (io, { logits, labels, lse, dlogp, dlse }) => {
      const [N, V] = dims(logits);
      const K = labelsPerRow(labels, N);
      const dx = io.out([N, V]);
      bwdImpl(io.f32(logits), io.i32(labels), io.f32(lse), io.f32(dlogp), io.f32(dlse), N, V, K, io.f32(dx));
      return dx;
    }),
  ];
}

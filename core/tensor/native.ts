/**
 * Loader of Flowloop's optional native kernels (native/flowloop_native.cc, a node-gyp addon built by
 * native/build.mjs — `npm ci` runs it — with OpenBLAS linked in statically): OpenBLAS GEMM, fused
 * log-softmax-gather and transpose working in place on tfjs-wasm heap views. The VSIX and the npm package
 * carry the linux-x64 build (native/build/Release/); on any other platform the WebAssembly kernels run and
 * the reason says so (run.json backend.reason, the Output channel).
 * Loaded lazily (only when a backend is initialised, i.e. in the worker), never at import time.
 * FLOWLOOP_NATIVE=0 disables it; FLOWLOOP_NATIVE=<path> names the .node file; FLOWLOOP_THREADS sets threads (default 2).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';

/** Fused log-softmax + gather forward (kernels/softmaxCrossEntropy.ts): labels and logp hold N·K entries. */
export type LogSoftmaxGatherForward = (
  x: Float32Array,
  labels: Int32Array,
  N: number,
  V: number,
  K: number,
  logp: Float32Array,
  lse: Float32Array,
) => void;
/** Its gradient. */
export type LogSoftmaxGatherBackward = (
  x: Float32Array,
  labels: Int32Array,
  lse: Float32Array,
  dlogp: Float32Array,
  dlse: Float32Array,
  N: number,
  V: number,
  K: number,
  dx: Float32Array,
) => void;
/** Fused LayerNorm over rows of C (kernels/layerNorm.ts formulas). */
export type LayerNormForward = (
  x: Float32Array,
  g: Float32Array,
  b: Float32Array,
  R: number,
  C: number,
  eps: number,
  y: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
) => void;
/** Its gradient. */
export type LayerNormBackward = (
  x: Float32Array,
  g: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  dy: Float32Array,
  R: number,
  C: number,
  dx: Float32Array,
  dg: Float32Array,
  db: Float32Array,
) => void;
/** out[c] = Σ_r x[r*C + c] (kernels/sum.ts). */
export type ColumnSums = (x: Float32Array, R: number, C: number, out: Float32Array) => void;

/** The arrays of a fused Adam update: inputs x, g, m, v and outputs x', m', v'. */
type AdamBuffers = [
  x: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  xo: Float32Array,
  mo: Float32Array,
  vo: Float32Array,
];
/** Its hyperparameters (kernels/adam.ts AdamAttrs). */
type AdamRule = [lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, decoupledWeightDecay: number];

/** What the addon exports; the same signatures as the JS kernels where both exist (the types above). */
export interface NativeKernels {
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    A: Float32Array,
    B: Float32Array,
    C: Float32Array,
    batch: number,
    batchA: number,
    batchB: number,
  ): void;
  /** Signature version of the build (NATIVE_VERSION). */
  version?: number;
  lsgFwd: LogSoftmaxGatherForward;
  lsgBwd: LogSoftmaxGatherBackward;
  transpose(x: Float32Array, shape: Int32Array, perm: Int32Array, out: Float32Array): void;
  /** Optional (older builds lack it). */
  colsum?: ColumnSums;
  /** Optional (older builds lack it): out = e^x. */
  exp?(x: Float32Array, out: Float32Array): void;
  /** Optional: fused LayerNorm forward/backward. */
  lnFwd?: LayerNormForward;
  lnBwd?: LayerNormBackward;
  /** Optional: fused Adam update (kernels/adam.ts formula) in float32 arithmetic. */
  adam?(...args: [...AdamBuffers, ...AdamRule, step: number]): void;
  /**
   * Optional (newer builds): the same update as kernels/adam.ts `adamUpdate` in double arithmetic, so bit for bit
   * the JS loop's results; c1, c2 are its bias corrections 1/(1 − β^t).
   */
  adam64?(...args: [...AdamBuffers, ...AdamRule, c1: number, c2: number]): void;
  /** Optional (newer builds): tf.dropout's multiplier from alea state [c, x0, x1, x2] (kernels/dropoutMask.ts). */
  dropoutMask?(out: Float32Array, c: number, x0: number, x1: number, x2: number, keep: number): void;
  setThreads(n: number): void;
}

/** The native/flowloop_native.cc signature version this TypeScript expects. */
export const NATIVE_VERSION = 2;

let cached: { mod?: NativeKernels; why: string; file?: string } | undefined;

function candidates(): string[] {
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  const rel = join('native', 'build', 'Release', 'flowloop_native.node');
  // source tree (core/tensor), esbuild bundle (dist/), cwd
  return [resolve(here, '..', '..', rel), resolve(here, '..', rel), resolve(process.cwd(), rel)];
}

/** The platform the shipped addon is built for (native/binding.gyp links Debian's x86-64 OpenBLAS). */
export const NATIVE_PLATFORM = 'linux-x64';

/** The native kernels, or undefined with the reason (not built, disabled, other platform, failed to load). */
export function loadNative(): { mod?: NativeKernels; why: string; file?: string } {
  if (cached) return cached;
  const env = process.env.FLOWLOOP_NATIVE;
  if (env === '0' || env === 'off') return (cached = { why: 'native kernels disabled by FLOWLOOP_NATIVE=0' });
  const files = env && env !== '1' ? [resolve(env)] : candidates();
  const here = `${process.platform}-${process.arch}`;
  if (here !== NATIVE_PLATFORM && !(env && env !== '1')) {
    return (cached = { why: `no native kernels for ${here} (the packaged addon is ${NATIVE_PLATFORM} only): WebAssembly kernels` });
  }
  const file = files.find((f) => existsSync(f));
  if (!file)
    return (cached = {
      why: 'native kernels not built (needs g++ and libopenblas-dev, then `npm ci` or node native/build.mjs): WebAssembly kernels',
    });
  try {
    // OpenMP threads that spin after a parallel loop would steal the cores OpenBLAS's threads need.
    process.env.OMP_WAIT_POLICY ??= 'passive';
    const req = typeof require === 'function' ? require : createRequire(join(process.cwd(), 'index.js'));
    const mod = req(file) as NativeKernels;
    if (mod.version !== NATIVE_VERSION)
      return (cached = {
        why: `native kernels outdated (version ${mod.version ?? 1}, need ${NATIVE_VERSION}): rebuild with node native/build.mjs`,
      });
    const threads = Math.max(1, Number(process.env.FLOWLOOP_THREADS ?? 2) || 2);
    mod.setThreads(threads);
    return (cached = { mod, why: `native OpenBLAS kernels, ${threads} threads`, file });
  } catch (e) {
    return (cached = { why: `native kernels failed to load: ${(e as Error).message.split('\n')[0]}` });
  }
}

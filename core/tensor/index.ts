/**
 * The one door to TensorFlow.js: backend choice and the single entry point to tfjs for every model (the
 * Flower policy, SASRec/GRU4Rec/Caser, the LLM policy), the objectives and the optimizers. Nothing else in
 * core/ imports a tfjs backend or calls tf.setBackend.
 *
 * Nothing heavy is loaded when this module is imported: tfjs, its backends and any native module
 * (tfjs-node, tfjs-node-gpu, the WebGPU binding) are required lazily inside `initBackend`, so the VS Code
 * extension host can import core/ without pulling native code into its process.
 *
 * Models call `getTf()` after the worker has awaited `initBackend(config.device)`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs-core';
// the chained-op methods (tensor.reshape(), …) as types; loadTfCore registers them at run time
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import { registerFlowloopKernels } from './kernels';
import { registerFlowloopGradients } from './gradients';

export type Tf = typeof TF;
export type Tensor = TF.Tensor;
export type Variable = TF.Variable;
export type Device = 'auto' | 'gpu' | 'cpu' | 'wasm';

export interface BackendChoice {
  tf: Tf;
  /** tfjs backend name: 'tensorflow' (tfjs-node[-gpu]), 'webgpu', 'wasm' or 'cpu'. */
  name: string;
  /** Why this backend was chosen, and why each better one was not (human readable, goes to run.json). */
  reason: string;
}

let current: BackendChoice | undefined;
let pending: Promise<BackendChoice> | undefined;
let pendingDevice: Device | undefined;

/** A `require` that works in tsx/CJS, in the esbuild CJS bundles (dist/) and in plain ESM. */
function nodeRequire(): NodeRequire {
  if (typeof require === 'function') return require;
  return createRequire(join(process.cwd(), 'index.js'));
}

/** True when `name` resolves from here (installed), without loading it. */
function installed(name: string): boolean {
  try {
    nodeRequire().resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** A cheap look for an NVIDIA GPU (driver present and at least one device), without loading CUDA. */
export function nvidiaGpuVisible(): boolean {
  try {
    if (process.env.CUDA_VISIBLE_DEVICES === '' || process.env.CUDA_VISIBLE_DEVICES === '-1') return false;
    const dir = '/proc/driver/nvidia/gpus';
    return existsSync(dir) && readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/**
 * Folder holding the tfjs WebAssembly binaries: beside the bundle (dist/, where esbuild.js copies them once),
 * else the installed @tensorflow/tfjs-backend-wasm (running from sources).
 */
export function wasmDistDir(): string {
  if (typeof __dirname === 'string' && existsSync(join(__dirname, 'tfjs-backend-wasm-simd.wasm'))) return __dirname;
  return dirname(nodeRequire().resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
}

async function tryNode(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'): Promise<Tf> {
  const tf = nodeRequire()(pkg) as Tf;
  await tf.setBackend('tensorflow');
  await tf.ready();
  return tf;
}

/**
 * tfjs-core with the chained-op methods (tensor.reshape(), …) and the gradients of its ops (both what the
 * umbrella @tensorflow/tfjs added) and its plain JavaScript backend registered (also the wasm backend's fallback for kernels it lacks).
 * Literal requires: esbuild bundles them (the packages are pinned, core/tensor/kernels use their internals).
 */
function loadTfCore(): Tf {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@tensorflow/tfjs-core') as Tf;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@tensorflow/tfjs-core/dist/register_all_gradients');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@tensorflow/tfjs-backend-cpu');
  return tf;
}

async function tryWasm(): Promise<Tf> {
  const tf = loadTfCore();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  const dir = wasmDistDir();
  // setWasmPaths takes a prefix that is concatenated with the file name.
  wasm.setWasmPaths(dir.endsWith('/') ? dir : dir + '/');
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
  return tf;
}

async function tryCpu(): Promise<Tf> {
  const tf = loadTfCore();
  if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend("cpu") returned false');
  await tf.ready();
  return tf;
}

/**
 * The WebGPU route: the `webgpu` npm package (dawn.node) provides `navigator.gpu` in Node and
 * @tensorflow/tfjs-backend-webgpu runs on it. Both are optional; throws a readable reason when absent
 * or when no adapter is found.
 */
async function tryWebGpu(): Promise<Tf> {
  const req = nodeRequire();
  if (!installed('webgpu')) throw new Error('npm package "webgpu" (dawn.node) not installed');
  if (!installed('@tensorflow/tfjs-backend-webgpu')) throw new Error('@tensorflow/tfjs-backend-webgpu not installed');
  const dawn = req('webgpu') as { create: (opts: string[]) => unknown; globals: Record<string, unknown> };
  const g = globalThis as Record<string, unknown>;
  Object.assign(g, dawn.globals);
  const gpu = dawn.create([]) as { requestAdapter(): Promise<unknown> };
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('dawn.node found no WebGPU adapter');
  if (!g.navigator) g.navigator = {};
  const nav = g.navigator as { gpu?: unknown };
  if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  const tf = loadTfCore();
  req('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
  await tf.ready();
  return tf;
}

function why(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0].slice(0, 200);
}

async function choose(device: Device): Promise<BackendChoice> {
  const notes: string[] = [];
  const attempt = async (label: string, f: () => Promise<Tf>): Promise<Tf | undefined> => {
    try {
      return await f();
    } catch (e) {
      notes.push(`${label}: ${why(e)}`);
      return undefined;
    }
  };
  const done = (tf: Tf, reason: string): BackendChoice => {
    const set = registerFlowloopKernels(tf, tf.getBackend());
    registerFlowloopGradients(tf);
    const nat = tf.getBackend() === 'wasm' ? `; ${set.nativeWhy}` : '';
    const skipped = notes.length ? ` (skipped: ${notes.join('; ')})` : '';
    return { tf, name: tf.getBackend(), reason: reason + nat + skipped };
  };

  const gpuRoutes = async (): Promise<BackendChoice | undefined> => {
    if (!installed('@tensorflow/tfjs-node-gpu')) notes.push('tfjs-node-gpu: not installed');
    else if (!nvidiaGpuVisible()) notes.push('tfjs-node-gpu: installed but no NVIDIA GPU visible');
    else {
      const tf = await attempt('tfjs-node-gpu', () => tryNode('@tensorflow/tfjs-node-gpu'));
      if (tf) return done(tf, 'tfjs-node-gpu installed and an NVIDIA GPU is visible');
    }
    const tf = await attempt('webgpu', tryWebGpu);
    if (tf) return done(tf, 'WebGPU adapter found through dawn.node');
    return undefined;
  };

  switch (device) {
    case 'gpu': {
      const c = await gpuRoutes();
      if (c) return c;
      throw new Error(`device "gpu": no GPU backend could start (${notes.join('; ')})`);
    }
    case 'wasm': {
      const tf = await attempt('wasm', tryWasm);
      if (tf) return done(tf, 'device "wasm" requested');
      throw new Error(`device "wasm": ${notes.join('; ')}`);
    }
    case 'cpu': {
      const tf = await tryCpu();
      return done(tf, 'device "cpu" requested (plain JavaScript kernels)');
    }
    case 'auto': {
      const g = await gpuRoutes();
      if (g) return g;
      if (!installed('@tensorflow/tfjs-node')) notes.push('tfjs-node: not installed');
      else {
        const tf = await attempt('tfjs-node', () => tryNode('@tensorflow/tfjs-node'));
        if (tf) return done(tf, 'tfjs-node installed (libtensorflow on CPU)');
      }
      const w = await attempt('wasm', tryWasm);
      if (w) return done(w, 'WebAssembly (XNNPACK, SIMD) with Flowloop kernels');
      const tf = await tryCpu();
      return done(tf, 'plain JavaScript cpu backend, the last resort');
    }
    default:
      throw new Error(`unknown device "${String(device)}" (expected auto, gpu, cpu or wasm)`);
  }
}

/**
 * Choose and start the tensor backend for `device`, register Flowloop's kernels into it,
 * and return tfjs with the backend's name and the reason it was chosen. Idempotent: a second call with the
 * same device returns the first result; a different device switches backend.
 */
export async function initBackend(device: Device = 'auto'): Promise<BackendChoice> {
  if (current && pendingDevice === device) return current;
  if (pending && pendingDevice === device) return pending;
  pendingDevice = device;
  pending = choose(device).then(
    (c) => {
      current = c;
      return c;
    },
    (e) => {
      pending = undefined;
      pendingDevice = undefined;
      throw e;
    },
  );
  return pending;
}

/** tfjs after `initBackend` resolved. Models import tf only through this. */
export function getTf(): Tf {
  if (!current) throw new Error('core/tensor: initBackend(device) must be awaited before getTf()');
  return current.tf;
}

/** The backend chosen by the last `initBackend`, if any. */
export function currentBackend(): { name: string; reason: string } | undefined {
  return current && { name: current.name, reason: current.reason };
}

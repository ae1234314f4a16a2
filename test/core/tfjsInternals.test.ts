/**
 * Flowloop's kernels (core/tensor/kernels) reach into private fields of tfjs's wasm and cpu backends
 * (backendTypes.ts, batchMatMul.ts: dataIdNextNumber, wasm.tfjs.registerTensor, dataIdMap, …). Those are
 * not API: package.json pins the exact tfjs versions, and this test fails with the list of what is gone
 * when an upgrade removes or renames one of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../core/tensor';

const root = join(import.meta.dirname, '..', '..');
const TFJS = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm'];

test('the tfjs packages whose internals the kernels use are pinned to one exact version, and that version is installed', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  const bad: string[] = [];
  for (const name of TFJS) {
    const want = deps[name];
    const have = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    if (!/^\d+\.\d+\.\d+$/.test(want ?? '')) bad.push(`${name}: package.json asks "${want}", not an exact version`);
    else if (have !== want) bad.push(`${name}: ${have} installed, package.json pins ${want} (run npm ci)`);
  }
  assert.ok(
    !('@tensorflow/tfjs' in deps),
    'package.json depends on the umbrella @tensorflow/tfjs: depend on tfjs-core and the backends used',
  );
  assert.deepEqual(bad, [], bad.join('\n'));
});

/** What of `obj` at `path` (a.b.c) is missing or of the wrong type. */
function probe(obj: unknown, path: string, type: string): string | undefined {
  let v: any = obj;
  for (const k of path.split('.')) {
    if (v == null || !(k in Object(v))) return `${path}: missing (at "${k}")`;
    v = v[k];
  }
  return typeof v === type ? undefined : `${path}: a ${typeof v}, the kernels expect a ${type}`;
}

/**
 * Initialise `backend` and assert that every private field (path → typeof) the kernels use is still there; returns
 * the backend for further checks.
 */
async function assertInternals(backend: 'wasm' | 'cpu', fields: Record<string, string>, advice = '') {
  const { tf } = await initBackend(backend);
  const b = tf.backend() as unknown;
  const missing = Object.entries(fields)
    .map(([path, type]) => probe(b, path, type))
    .filter(Boolean);
  assert.deepEqual(
    missing,
    [],
    `tfjs ${tf.version_core}: the ${backend} backend lost internals that core/tensor/kernels use:\n${missing.join('\n')}${advice}`,
  );
  return { tf, backend: b };
}

test('the wasm backend still has every private field the kernels use', async () => {
  const { tf, backend } = await assertInternals(
    'wasm',
    {
      dataIdNextNumber: 'number',
      'dataIdMap.get': 'function',
      'dataIdMap.set': 'function',
      'dataIdMap.delete': 'function',
      makeOutput: 'function',
      typedArrayFromHeap: 'function',
      disposeData: 'function',
      incRef: 'function',
      'wasm.tfjs.registerTensor': 'function',
      'wasm.tfjs.disposeData': 'function',
      'wasm.cwrap': 'function',
      'wasm.HEAPU8': 'object',
      'wasm._malloc': 'function',
      'wasm._free': 'function',
    },
    '\n(pin the tfjs version that has them, or port the kernels)',
  );
  // a tensor's record: { id, memoryOffset, shape } (backendTypes.ts)
  const t = tf.tensor1d([1, 2, 3]);
  const rec = (backend as { dataIdMap: { get(d: object): Record<string, unknown> | undefined } }).dataIdMap.get(t.dataId);
  const fields = ['id', 'memoryOffset', 'shape'].filter((k) => !rec || !(k in rec));
  t.dispose();
  assert.deepEqual(fields, [], `dataIdMap records lack ${fields.join(', ')}`);
});

test('the cpu backend still has the private fields the kernels use', async () => {
  await assertInternals('cpu', { 'data.get': 'function', makeTensorInfo: 'function', disposeIntermediateTensorInfo: 'function' });
});

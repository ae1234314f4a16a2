/** core/tensor backend choice. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getTf, initBackend, currentBackend } from '../../core/tensor';

const loaded = (re: RegExp) => Object.keys(require.cache).filter((k) => re.test(k));

test('importing core/tensor loads neither tfjs nor any native module', () => {
  assert.deepEqual(loaded(/@tensorflow[\\/]|onnxruntime|webgpu/), []);
  assert.throws(() => getTf(), /initBackend/);
});

test('initBackend("auto") picks a working backend and says why the better ones were skipped', async () => {
  const c = await initBackend('auto');
  assert.ok(['tensorflow', 'webgpu', 'wasm', 'cpu'].includes(c.name), `unexpected backend ${c.name}`);
  assert.equal(c.tf.getBackend(), c.name);
  assert.ok(c.reason.length > 10, `reason too short: "${c.reason}"`);
  let gpuInstalled = true;
  try {
    require.resolve('@tensorflow/tfjs-node-gpu');
  } catch {
    gpuInstalled = false;
  }
  if (!gpuInstalled) assert.match(c.reason, /tfjs-node-gpu: not installed/);
  assert.deepEqual(currentBackend(), { name: c.name, reason: c.reason });
  assert.equal(getTf(), c.tf);
  // a tiny computation works on it
  assert.deepEqual(Array.from(c.tf.matMul(c.tf.tensor2d([1, 2], [1, 2]), c.tf.tensor2d([3, 4], [2, 1])).dataSync()), [11]);
});

test('initBackend is idempotent for the same device and switches for another', async () => {
  const a = await initBackend('wasm');
  const b = await initBackend('wasm');
  assert.equal(a, b);
  assert.equal(a.name, 'wasm');
  const c = await initBackend('cpu');
  assert.equal(c.name, 'cpu');
  assert.equal(c.tf.getBackend(), 'cpu');
  assert.ok(c.tf.getKernel('FlowloopLogSoftmaxGather', 'cpu'), 'fused kernel not registered on cpu');
});

test('initBackend("gpu") fails with every reason when no GPU backend can start', async (t) => {
  const gpuInstalled = (() => {
    try {
      require.resolve('@tensorflow/tfjs-node-gpu');
      return true;
    } catch {
      return false;
    }
  })();
  if (gpuInstalled) return t.skip('tfjs-node-gpu is installed here');
  await assert.rejects(initBackend('gpu'), /device "gpu": no GPU backend could start \(tfjs-node-gpu: not installed; webgpu: /);
});

test('an unknown device is rejected by name', async () => {
  await assert.rejects(initBackend('tpu' as never), /unknown device "tpu"/);
});

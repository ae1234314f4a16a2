/**
 * Flowloop's tfjs kernels (core/tensor/kernels) against the stock cpu backend, forward and gradient
 * (tf.grads), on random shapes, on both the wasm and the cpu backend — on wasm twice when the native
 * kernels are built (native/build.sh): with them and with the pure wasm/JS fallback.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '@tensorflow/tfjs-core';
import { initBackend, type Tf } from '../../core/tensor';
import { registerFlowloopKernels, unregisterFlowloopKernels } from '../../core/tensor/kernels';
import { logSoftmaxGather } from '../../core/tensor/ops';
import { loadNative } from '../../core/tensor/native';
import { Rng } from '../../core/util/random';

let tf: Tf;
before(async () => {
  tf = (await initBackend('wasm')).tf;
});
/** wasm kernel variants to check: the wasm/JS fallback always, the native one when built. */
const native = loadNative();
const MODES: boolean[] = native.mod ? [false, true] : [false];

test('the native kernel variants are checked too (every kernel below, with the native addon)', (t) => {
  if (!native.mod) t.skip(`native kernels not built (npm ci / node native/build.mjs): only the wasm/JS variants ran (${native.why})`);
});
let nativeMode = false;

type Arrays = Float32Array[];
/** Run `f` on `backend` with plain-array inputs; returns its outputs as arrays. */
function on(backend: 'cpu' | 'wasm', stock: boolean, f: () => Tensor[]): Arrays {
  tf.setBackend(backend);
  if (stock) unregisterFlowloopKernels(tf, backend);
  else registerFlowloopKernels(tf, backend, { native: nativeMode });
  try {
    return tf
      .tidy(() => f())
      .map((t) => {
        const v = Float32Array.from(t.dataSync());
        t.dispose();
        return v;
      });
  } finally {
    if (stock) registerFlowloopKernels(tf, backend);
    tf.setBackend('wasm');
  }
}

function close(got: Float32Array, want: Float32Array, what: string, tol = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: length ${got.length} vs ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= tol * (1 + Math.abs(want[i])))) assert.fail(`${what}: element ${i} is ${got[i]}, reference ${want[i]} (|diff| ${d})`);
  }
}

const randn = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** Compare our wasm and our cpu kernels against stock cpu for the outputs of `f`. */
function check(what: string, f: () => Tensor[], tol = 1e-4): void {
  const want = on('cpu', true, f);
  for (const mode of MODES) {
    nativeMode = mode;
    const gotWasm = on('wasm', false, f);
    want.forEach((w, i) => close(gotWasm[i], w, `${what} [wasm${mode ? ' native' : ''}] output ${i}`, tol));
  }
  nativeMode = false;
  const gotCpu = on('cpu', false, f);
  want.forEach((w, i) => close(gotCpu[i], w, `${what} [cpu] output ${i}`, tol));
}

test('initBackend("wasm") registers the Flowloop kernels on wasm', () => {
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(tf.getKernel('UnsortedSegmentSum', 'wasm'), 'UnsortedSegmentSum missing on wasm');
});

test('UnsortedSegmentSum equals stock cpu on random shapes, ids out of range dropped', () => {
  const rng = new Rng(1);
  for (let trial = 0; trial < 6; trial++) {
    const n = 1 + rng.int(40),
      s = 1 + rng.int(12);
    const inner = trial % 3 === 0 ? [] : trial % 3 === 1 ? [1 + rng.int(7)] : [1 + rng.int(4), 1 + rng.int(5)];
    const size = inner.reduce((a, b) => a * b, 1);
    const x = randn(rng, n * size);
    const ids = Int32Array.from({ length: n }, () => rng.int(s + 2) - 1); // -1 .. s: some out of range
    check(`segmentSum n=${n} s=${s} inner=[${inner}]`, () => [
      tf.unsortedSegmentSum(tf.tensor(x, [n, ...inner]), tf.tensor1d(ids, 'int32'), s),
    ]);
  }
});

test('embedding gradient through gather (UnsortedSegmentSum) equals stock cpu', () => {
  const rng = new Rng(2);
  for (let trial = 0; trial < 4; trial++) {
    const rows = 2 + rng.int(30),
      d = 1 + rng.int(9),
      n = 1 + rng.int(50);
    const E = randn(rng, rows * d),
      R = randn(rng, n * d);
    const idx = Int32Array.from({ length: n }, () => rng.int(rows));
    check(`gather grad rows=${rows} d=${d} n=${n}`, () => {
      const w = tf.tensor2d(R, [n, d]);
      const [gE] = tf.grads((e: Tensor) => tf.sum(tf.mul(tf.gather(e, tf.tensor1d(idx, 'int32')), w)))([tf.tensor2d(E, [rows, d])]);
      return [tf.gather(tf.tensor2d(E, [rows, d]), tf.tensor1d(idx, 'int32')), gE];
    });
  }
});

test('gather on axis 0 rejects an index out of range (as stock tfjs)', () => {
  tf.setBackend('wasm');
  assert.throws(() => tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([0, 2], 'int32')).dataSync(), /index value 2/);
});

test('BatchMatMul (transposes, batches, broadcast batch) equals stock cpu, forward and gradient', () => {
  const rng = new Rng(3);
  const cases: { ba: number[]; bb: number[]; ta: boolean; tb: boolean }[] = [];
  for (const ta of [false, true])
    for (const tb of [false, true]) {
      cases.push({ ba: [], bb: [], ta, tb });
      cases.push({ ba: [3], bb: [3], ta, tb });
      cases.push({ ba: [2, 3], bb: [2, 3], ta, tb });
    }
  cases.push(
    { ba: [4], bb: [1], ta: false, tb: false },
    { ba: [1], bb: [4], ta: true, tb: false },
    { ba: [5], bb: [1], ta: false, tb: true },
  );
  for (const { ba, bb, ta, tb } of cases) {
    const M = 1 + rng.int(9),
      K = 1 + rng.int(9),
      N = 1 + rng.int(9);
    const aShape = [...ba, ...(ta ? [K, M] : [M, K])],
      bShape = [...bb, ...(tb ? [N, K] : [K, N])];
    const A = randn(
        rng,
        aShape.reduce((x, y) => x * y, 1),
      ),
      B = randn(
        rng,
        bShape.reduce((x, y) => x * y, 1),
      );
    const outBatch = ba.length ? (ba.reduce((x, y) => x * y, 1) >= bb.reduce((x, y) => x * y, 1) ? ba : bb) : [];
    const R = randn(rng, outBatch.reduce((x, y) => x * y, 1) * M * N);
    check(`matMul a=[${aShape}] b=[${bShape}] ta=${ta} tb=${tb}`, () => {
      const a = tf.tensor(A, aShape),
        b = tf.tensor(B, bShape),
        r = tf.tensor(R, [...outBatch, M, N]);
      // tfjs's own BatchMatMul gradient is wrong for broadcast batches (docs/testing.md): forward only there.
      if (ba.join() !== bb.join()) return [tf.matMul(a, b, ta, tb)];
      const f = (x: Tensor, y: Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), r));
      const [ga, gb] = tf.grads(f)([a, b]);
      return [tf.matMul(a, b, ta, tb), ga, gb];
    });
  }
});

test('Transpose of any rank equals stock cpu (incl. the 5-D qkv split of attention)', () => {
  const rng = new Rng(5);
  const shapes = [
    [64, 80],
    [3, 40, 50],
    [32, 16, 3, 4, 16],
    [2, 3, 4, 5, 6, 7],
  ];
  for (const shape of shapes) {
    const perm = rng.shuffle([...shape.keys()]);
    const x = randn(
      rng,
      shape.reduce((a, b) => a * b, 1),
    );
    check(`transpose [${shape}] perm [${perm}]`, () => {
      const t = tf.tensor(x, shape);
      const [g] = tf.grads((u: Tensor) => tf.sum(tf.mul(tf.transpose(u, perm), tf.transpose(t, perm))))([t]);
      return [tf.transpose(t, perm), g];
    });
  }
});

test('Sum over leading axes (and others) equals stock cpu, with and without keepDims', () => {
  const rng = new Rng(6);
  const cases: [number[], number[], boolean][] = [
    [[37, 11], [0], false],
    [[5, 6, 7], [0, 1], true],
    [[5, 6, 7], [0], false],
    [[4, 9], [1], false],
    [[3, 4, 5], [1], true],
    [[8, 3], [-2], false],
  ];
  for (const [shape, axes, keep] of cases) {
    const x = randn(
      rng,
      shape.reduce((a, b) => a * b, 1),
    );
    check(`sum [${shape}] axes [${axes}] keepDims ${keep}`, () => [tf.sum(tf.tensor(x, shape), axes, keep)]);
  }
});

test('BatchMatMul on wasm leaves no heap allocations behind', () => {
  tf.setBackend('wasm');
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const a = tf.randomNormal([6, 5, 7]),
    b = tf.randomNormal([6, 4, 7]);
  const before = backend.numDataIds();
  for (let i = 0; i < 5; i++) tf.matMul(a, b, false, true).dispose();
  assert.equal(backend.numDataIds(), before);
  a.dispose();
  b.dispose();
});

test('logSoftmaxGather equals log-softmax + pick on stock cpu, forward and gradient, padding labels ignored', () => {
  const rng = new Rng(4);
  for (let trial = 0; trial < 5; trial++) {
    const N = 1 + rng.int(12),
      V = 2 + rng.int(300);
    const X = Float32Array.from({ length: N * V }, () => rng.normal() * 4);
    const labels = Int32Array.from({ length: N }, () => (rng.next() < 0.2 ? -1 : rng.int(V)));
    const W = randn(rng, N);
    const valid = Float32Array.from(labels, (y) => (y >= 0 ? 1 : 0));
    const safe = Int32Array.from(labels, (y) => Math.max(0, y));
    const want = on('cpu', true, () => {
      const f = (x: Tensor) => tf.mul(tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(tf.tensor1d(safe, 'int32'), V)), 1), tf.tensor1d(valid));
      const [g] = tf.grads((x: Tensor) => tf.sum(tf.mul(f(x), tf.tensor1d(W))))([tf.tensor2d(X, [N, V])]);
      return [f(tf.tensor2d(X, [N, V])), g];
    });
    for (const [backend, mode] of [...MODES.map((m) => ['wasm', m] as const), ['cpu', false] as const]) {
      nativeMode = mode;
      const got = on(backend, false, () => {
        const f = (x: Tensor) => logSoftmaxGather(x as never, tf.tensor1d(labels, 'int32'));
        const [g] = tf.grads((x: Tensor) => tf.sum(tf.mul(f(x), tf.tensor1d(W))))([tf.tensor2d(X, [N, V])]);
        return [f(tf.tensor2d(X, [N, V])), g];
      });
      close(got[0], want[0], `logSoftmaxGather N=${N} V=${V} [${backend}${mode ? ' native' : ''}] forward`, 2e-5);
      close(got[1], want[1], `logSoftmaxGather N=${N} V=${V} [${backend}${mode ? ' native' : ''}] gradient`, 2e-5);
    }
    nativeMode = false;
  }
});

test('FusedAdam follows tf.train.adam step for step (and its weightDecay equals an L2 term in the loss)', async () => {
  const { FusedAdam } = await import('../../core/tensor/adam');
  const rng = new Rng(7);
  const X = randn(rng, 6 * 5),
    Y = randn(rng, 6 * 3),
    W0 = randn(rng, 5 * 3),
    B0 = randn(rng, 3);
  for (const backend of ['wasm', 'cpu'] as const) {
    tf.setBackend(backend);
    registerFlowloopKernels(tf, backend);
    for (const wd of [0, 0.01]) {
      const run = (fused: boolean): Float32Array[] => {
        const w = tf.variable(tf.tensor2d(W0, [5, 3])),
          b = tf.variable(tf.tensor1d(B0));
        const opt = fused
          ? new FusedAdam(0.05, { beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: wd })
          : tf.train.adam(0.05, 0.9, 0.98, 1e-8);
        for (let s = 0; s < 5; s++) {
          opt.minimize(
            () =>
              tf.tidy(() => {
                let l = tf.mean(
                  tf.square(tf.sub(tf.add(tf.matMul(tf.tensor2d(X, [6, 5]), w), b), tf.tensor2d(Y, [6, 3]))),
                ) as never as import('@tensorflow/tfjs-core').Scalar;
                if (!fused && wd) l = tf.add(l, tf.mul(tf.add(tf.sum(tf.square(w)), tf.sum(tf.square(b))), 0.5 * wd));
                return l;
              }),
            false,
            [w, b],
          );
        }
        const out = [Float32Array.from(w.dataSync()), Float32Array.from(b.dataSync())];
        w.dispose();
        b.dispose();
        opt.dispose();
        return out;
      };
      const want = run(false),
        got = run(true);
      close(got[0], want[0], `FusedAdam [${backend}] wd=${wd} weights`, 1e-5);
      close(got[1], want[1], `FusedAdam [${backend}] wd=${wd} bias`, 1e-5);
    }
  }
  tf.setBackend('wasm');
});

test('Tile equals stock cpu on random shapes and reps (float32 and int32)', () => {
  const rng = new Rng(8);
  for (let trial = 0; trial < 8; trial++) {
    const r = 1 + rng.int(4);
    const shape = Array.from({ length: r }, () => 1 + rng.int(4));
    const reps = Array.from({ length: r }, () => 1 + rng.int(3));
    const x = randn(
      rng,
      shape.reduce((a, b) => a * b, 1),
    );
    const xi = Int32Array.from(x, (v) => Math.round(v * 10));
    check(`tile [${shape}] reps [${reps}]`, () => [
      tf.tile(tf.tensor(x, shape), reps),
      tf.cast(tf.tile(tf.tensor(xi, shape, 'int32'), reps), 'float32'),
    ]);
  }
});

test('Sum and Mean gradients (Flowloop broadcast form) equal the analytic gradient', () => {
  const rng = new Rng(9);
  const cases: [number[], number[], boolean][] = [
    [[7, 5], [1], true],
    [[7, 5], [0], false],
    [[3, 4, 5], [0, 2], false],
    [[3, 4, 5], [1], true],
    [[6], [0], false],
    [[2, 3, 4], [0, 1, 2], false],
  ];
  for (const [shape, axes, keep] of cases) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = randn(rng, n);
    const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const R = randn(
      rng,
      outShape.reduce((a, b) => a * b, 1),
    );
    // analytic: d/dx_i of Σ_j r_j · reduce(x)_j = r_{proj(i)} (sum) or r_{proj(i)} / count (mean)
    const count = axes.reduce((a, ax) => a * shape[ax], 1);
    const want = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let rem = i,
        j = 0,
        stride = 1;
      const idx: number[] = [];
      for (let d = shape.length - 1; d >= 0; d--) {
        idx[d] = rem % shape[d];
        rem = Math.floor(rem / shape[d]);
      }
      for (let d = shape.length - 1; d >= 0; d--) {
        if (!axes.includes(d)) j += idx[d] * stride;
        stride *= outShape[d];
      }
      want[i] = R[j];
    }
    for (const [backend, mode] of [...MODES.map((m) => ['wasm', m] as const), ['cpu', false] as const]) {
      nativeMode = mode;
      const [gs, gm] = on(backend, false, () => {
        const r = tf.tensor(R, keep ? outShape : outShape.filter((_, i) => !axes.includes(i)));
        const [a] = tf.grads((u: Tensor) => tf.sum(tf.mul(tf.sum(u, axes, keep), r)))([tf.tensor(x, shape)]);
        const [b] = tf.grads((u: Tensor) => tf.sum(tf.mul(tf.mean(u, axes, keep), r)))([tf.tensor(x, shape)]);
        return [a, b];
      });
      close(gs, want, `sum grad [${shape}] axes [${axes}] keepDims ${keep} [${backend}]`, 1e-6);
      close(
        gm,
        want.map((v) => v / count),
        `mean grad [${shape}] axes [${axes}] keepDims ${keep} [${backend}]`,
        1e-6,
      );
    }
    nativeMode = false;
  }
});

test('Slice (incl. one column of a wide matrix) and Exp (incl. under/overflow, NaN) equal stock cpu', () => {
  const rng = new Rng(10);
  const cases: [number[], number[], number[]][] = [
    [
      [50, 70],
      [0, 13],
      [50, 1],
    ],
    [
      [6, 7, 8],
      [1, 0, 2],
      [4, 7, 5],
    ],
    [
      [5, 6, 7],
      [0, 0, 0],
      [2, 6, 7],
    ],
    [
      [3, 4, 5, 6],
      [1, 1, 1, 1],
      [2, 2, 2, 2],
    ],
    [[100], [7], [50]],
  ];
  for (const [shape, begin, size] of cases) {
    const x = randn(
      rng,
      shape.reduce((a, b) => a * b, 1),
    );
    check(`slice [${shape}] begin [${begin}] size [${size}]`, () => {
      const t = tf.tensor(x, shape);
      const [g] = tf.grads((u: Tensor) => tf.sum(tf.square(tf.slice(u, begin, size))))([t]);
      return [tf.slice(t, begin, size), g];
    });
  }
  const e = Float32Array.from({ length: 5000 }, (_, i) =>
    i < 4990 ? rng.normal() * 30 : [-100, -87.5, 88.5, 100, NaN, -Infinity, Infinity, 0, -87.3, 88.3][i - 4990],
  );
  const want = on('cpu', true, () => [tf.exp(tf.tensor1d(e))])[0];
  for (const mode of MODES) {
    nativeMode = mode;
    const got = on('wasm', false, () => [tf.exp(tf.tensor1d(e))])[0];
    for (let i = 0; i < e.length; i++) {
      const ok = Number.isNaN(want[i])
        ? Number.isNaN(got[i])
        : want[i] === got[i] || Math.abs(got[i] - want[i]) <= 2e-6 * Math.abs(want[i]);
      if (!ok) assert.fail(`exp(${e[i]}) [wasm${mode ? ' native' : ''}] = ${got[i]}, stock cpu ${want[i]}`);
    }
  }
  nativeMode = false;
});

test('Cast to the same dtype shares the buffer on wasm; other casts still convert', () => {
  tf.setBackend('wasm');
  const x = tf.tensor1d([1.7, -2.2, 3.5]);
  const y = tf.cast(x, 'float32');
  assert.deepEqual(Array.from(y.dataSync()), Array.from(x.dataSync()));
  x.dispose(); // y keeps the shared buffer alive
  assert.deepEqual(Array.from(y.dataSync()), [1.7000000476837158, -2.200000047683716, 3.5]);
  assert.deepEqual(Array.from(tf.cast(y, 'int32').dataSync()), [1, -2, 3]);
  y.dispose();
});

test('layerNorm (fused) equals the stock-op LayerNorm, forward and gradient in x, gamma and beta', async () => {
  const { layerNorm } = await import('../../core/tensor/ops');
  const rng = new Rng(11);
  for (const shape of [
    [7, 5],
    [3, 4, 16],
    [40, 64],
    [2, 1],
  ]) {
    const C = shape[shape.length - 1];
    const X = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 3 + 1);
    const G = randn(rng, C),
      B = randn(rng, C),
      W = randn(rng, X.length);
    const f = (fused: boolean) => () => {
      const ln = (x: Tensor, g: Tensor, b: Tensor) =>
        fused
          ? layerNorm(x, g, b)
          : (() => {
              const { mean, variance } = tf.moments(x, -1, true);
              return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
            })();
      const x = tf.tensor(X, shape),
        g = tf.tensor1d(G),
        b = tf.tensor1d(B),
        w = tf.tensor(W, shape);
      const grads = tf.grads((u: Tensor, v: Tensor, z: Tensor) => tf.sum(tf.mul(ln(u, v, z), w)))([x, g, b]);
      return [ln(x, g, b), ...grads];
    };
    const want = on('cpu', true, f(false));
    for (const [backend, mode] of [...MODES.map((m) => ['wasm', m] as const), ['cpu', false] as const]) {
      nativeMode = mode;
      const got = on(backend, false, f(true));
      ['y', 'dx', 'dgamma', 'dbeta'].forEach((n, i) =>
        close(got[i], want[i], `layerNorm [${shape}] ${n} [${backend}${mode ? ' native' : ''}]`, 2e-4),
      );
    }
    nativeMode = false;
  }
});

test('logSoftmaxGather with K labels per row equals K separate picks of one log-softmax, forward and gradient', async () => {
  const rng = new Rng(12);
  const N = 9,
    V = 37,
    K = 3;
  const X = Float32Array.from({ length: N * V }, () => rng.normal() * 3);
  const labels = Int32Array.from({ length: N * K }, () => (rng.next() < 0.15 ? V + 2 : rng.int(V)));
  const W = randn(rng, N * K);
  const want = on('cpu', true, () => {
    const f = (x: Tensor) => {
      const lp = tf.reshape(tf.logSoftmax(x), [-1]);
      const idx = Int32Array.from(labels, (y, i) => Math.floor(i / K) * V + (y < V ? y : 0));
      const mask = Float32Array.from(labels, (y) => (y < V ? 1 : 0));
      return tf.mul(tf.reshape(tf.gather(lp, tf.tensor1d(idx, 'int32')), [N, K]), tf.tensor2d(mask, [N, K]));
    };
    const [g] = tf.grads((x: Tensor) => tf.sum(tf.mul(f(x), tf.tensor2d(W, [N, K]))))([tf.tensor2d(X, [N, V])]);
    return [f(tf.tensor2d(X, [N, V])), g];
  });
  for (const [backend, mode] of [...MODES.map((m) => ['wasm', m] as const), ['cpu', false] as const]) {
    nativeMode = mode;
    const got = on(backend, false, () => {
      const f = (x: Tensor) => logSoftmaxGather(x as never, tf.tensor2d(labels, [N, K], 'int32'));
      const [g] = tf.grads((x: Tensor) => tf.sum(tf.mul(f(x), tf.tensor2d(W, [N, K]))))([tf.tensor2d(X, [N, V])]);
      return [f(tf.tensor2d(X, [N, V])), g];
    });
    close(got[0], want[0], `logSoftmaxGather K=${K} [${backend}${mode ? ' native' : ''}] forward`, 2e-5);
    close(got[1], want[1], `logSoftmaxGather K=${K} [${backend}${mode ? ' native' : ''}] gradient`, 2e-5);
  }
  nativeMode = false;
  // the stock-op version used on other backends (tfjs-node, webgpu) gives the same
  const { logSoftmaxGatherStock } = await import('../../core/tensor/ops');
  const stock = on('cpu', true, () => {
    const f = (x: Tensor) => logSoftmaxGatherStock(x as never, tf.tensor2d(labels, [N, K], 'int32'));
    const [g] = tf.grads((x: Tensor) => tf.sum(tf.mul(f(x), tf.tensor2d(W, [N, K]))))([tf.tensor2d(X, [N, V])]);
    return [f(tf.tensor2d(X, [N, V])), g];
  });
  close(stock[0], want[0], 'logSoftmaxGatherStock forward', 2e-5);
  close(stock[1], want[1], 'logSoftmaxGatherStock gradient', 2e-5);
});

/**
 * Per-kernel profile of one training step (where the time goes), for the steps of bench.ts.
 * usage: node --import tsx bench/trainStep/profile.ts <policy|sasrec> [--device wasm] [--detail] [--steps 5]
 * (kernel times summed over the profiled steps; wall time minus kernel time is JavaScript between kernels)
 */
import { initBackend, type Device } from '../../core/tensor';
import { policyStep, sasrecStep } from './steps';

async function main(): Promise<void> {
  const which = process.argv[2] ?? 'policy';
  const i = process.argv.indexOf('--device');
  const { tf, name } = await initBackend((i > 0 ? process.argv[i + 1] : 'wasm') as Device);
  const detail = process.argv.includes('--detail');
  const runner = which === 'policy' ? policyStep(0) : sasrecStep(0);
  for (let s = 0; s < 3; s++) {
    const t0 = performance.now();
    const l = runner.step();
    console.log(`step ${s} ${(performance.now() - t0).toFixed(0)} ms loss ${l.toFixed(4)} tensors ${tf.memory().numTensors} (${name})`);
  }
  const si = process.argv.indexOf('--steps');
  const n = si > 0 ? Number(process.argv[si + 1]) : 5;
  const t1 = performance.now();
  const prof = await tf.profile(() => {
    for (let s = 0; s < n; s++) runner.step();
  });
  console.log(`${n} profiled steps: ${(performance.now() - t1).toFixed(0)} ms wall`);
  const agg = new Map<string, [number, number]>();
  for (const k of prof.kernels) {
    const key = detail ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
    const e = agg.get(key) ?? [0, 0];
    e[0] += k.kernelTimeMs as number;
    e[1]++;
    agg.set(key, e);
  }
  const total = [...agg.values()].reduce((a, b) => a + b[0], 0);
  console.log(`kernel time ${total.toFixed(0)} ms in ${prof.kernels.length} kernels`);
  for (const [k, [ms, n]] of [...agg].sort((a, b) => b[1][0] - a[1][0]).slice(0, 32))
    console.log(`${ms.toFixed(1).padStart(8)} ms x${n} ${k}`);
}
main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

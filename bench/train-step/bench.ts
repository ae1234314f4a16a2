/**
 * Training-step benchmark (issue 4 item 4a): one Adam step of the Flower policy and of SASRec in Flowloop
 * (core/tensor backend with Flowloop's kernels, the project's real model code) vs the same models in
 * PyTorch CPU (bench/python/train_step_torch.py, 2 threads, thread env pinned), in the SAME run:
 * blocks of steps alternate between the two engines, medians over all timed steps, ratio = ours / PyTorch.
 * Prints one JSON object.
 *
 * usage: node --import tsx bench/train-step/bench.ts [--steps 8] [--warmup 2] [--rounds 2] [--device wasm]
 *        [--models policy,sasrec] [--no-torch] [--fused]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, type Device } from '../../core/tensor';
import { policyStep, sasrecStep, type StepRunner } from './steps';
import cfgs from './configs.json';

const HERE = __dirname;
const PY = '/usr/bin/python3';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };

interface TorchResult { engine: string; blas: string; params: number; medianStepMs: number; stepMs: number[]; firstLoss: number; lastLoss: number }

/** One block of PyTorch steps in a child process; null (with a reason) when torch is unavailable. */
function torchBlock(model: string, steps: number, warmup: number): TorchResult | { error: string } {
  if (!existsSync(PY)) return { error: `${PY} not found (apt-get install python3-torch)` };
  const r = spawnSync(PY, [join(HERE, '..', 'python', 'train_step_torch.py'), model, String(steps), String(warmup), '2'], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2', MKL_NUM_THREADS: '2' },
    timeout: 600_000,
  });
  if (r.status !== 0) return { error: `train_step_torch.py ${model} exited ${r.status}: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0]}` };
  try {
    return JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]) as TorchResult;
  } catch {
    return { error: `train_step_torch.py printed no JSON: ${r.stdout.slice(0, 200)}` };
  }
}

function oursBlock(runner: StepRunner, steps: number, warmup: number): { stepMs: number[]; losses: number[] } {
  const stepMs: number[] = [], losses: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const l = runner.step();
    const dt = performance.now() - t0;
    if (i >= warmup) { stepMs.push(dt); losses.push(l); }
  }
  return { stepMs, losses };
}

async function main(): Promise<void> {
  const steps = Number(arg('steps', '8')), warmup = Number(arg('warmup', '2')), rounds = Number(arg('rounds', '2'));
  const models = arg('models', 'policy,sasrec').split(',');
  const withTorch = !process.argv.includes('--no-torch');
  const fused = process.argv.includes('--fused');
  const backend = await initBackend(arg('device', 'wasm') as Device);
  const out: Record<string, unknown> = {
    bench: 'train-step',
    backend: { name: backend.name, reason: backend.reason },
    modelCode: 'real: core/models/policy.ts (TransformerPolicy) + core/flower/subtb.ts, core/models/sasrec.ts (SASRec)',
    protocol: `${rounds} rounds x (${steps} PyTorch steps, ${steps} Flowloop steps) after ${warmup} warm-up steps per block; medians over all timed steps; machine shared, so only same-run ratios mean anything`,
    models: {} as Record<string, unknown>,
  };
  const t0 = Date.now();
  for (const m of models) {
    const make = m === 'policy' ? () => policyStep(0, fused) : m === 'sasrec' ? () => sasrecStep(0) : undefined;
    if (!make) throw new Error(`unknown model "${m}" (policy or sasrec)`);
    const runner = make();
    const ours: number[] = [], torch: number[] = [];
    let torchInfo: TorchResult | { error: string } | undefined;
    let losses: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (withTorch) {
        const t = torchBlock(m, steps, warmup);
        torchInfo = t;
        if ('error' in t) break;
        torch.push(...t.stepMs);
      }
      const o = oursBlock(runner, steps, r === 0 ? warmup : 1);
      ours.push(...o.stepMs);
      losses = o.losses;
    }
    runner.dispose();
    const oursMs = median(ours), torchMs = median(torch);
    (out.models as Record<string, unknown>)[m] = {
      config: cfgs[m as 'policy' | 'sasrec'],
      variant: m === 'policy' ? (fused ? 'fused logSoftmaxGather for token/terminal log-probs' : "model's own logSoftmax + one-hot product (as core/flower/objective.ts)") : 'model as is',
      params: runner.params,
      flowloopMedianStepMs: Math.round(oursMs * 10) / 10,
      flowloopStepMs: ours.map((x) => Math.round(x)),
      flowloopLastLoss: losses[losses.length - 1],
      torch: torchInfo && 'error' in torchInfo ? torchInfo : torchInfo && { engine: torchInfo.engine, blas: torchInfo.blas, params: torchInfo.params, lastLoss: torchInfo.lastLoss },
      torchMedianStepMs: torch.length ? Math.round(torchMs * 10) / 10 : null,
      torchStepMs: torch.map((x) => Math.round(x)),
      ratio: torch.length ? Math.round((oursMs / torchMs) * 100) / 100 : null,
      target: 'ratio <= 2.0 (moonshot <= 1.0)',
    };
  }
  out.wallS = Math.round((Date.now() - t0) / 100) / 10;
  console.log(JSON.stringify(out, null, 1));
}

main().catch((e) => {
  console.error(`bench/train-step: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

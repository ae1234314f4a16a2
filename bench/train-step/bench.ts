/**
 * Training-step benchmark: one Adam step of the Flower policy and of SASRec in Flowloop
 * (core/tensor backend with Flowloop's kernels, the project's real model code) vs the same models in
 * PyTorch CPU (bench/python/train_step_torch.py, 2 threads, thread env pinned), in the SAME run:
 * blocks of steps alternate between the engines, each block in a fresh child process (PyTorch's and
 * ours alike, so neither inherits scheduler history on a shared machine), medians over all timed steps,
 * ratio = ours / PyTorch.
 * Prints one JSON object.
 *
 * usage: node --import tsx bench/train-step/bench.ts [--steps 8] [--warmup 2] [--rounds 2] [--device wasm]
 *        [--models policy,sasrec] [--no-torch]
 * Two Flowloop variants per model: `asIs` (the model code as committed) and `fast` (same forward, Flowloop's
 * fused log-softmax-gather and FusedAdam; see steps.ts).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { initBackend, type Device } from '../../core/tensor';
import { policyStep, sasrecStep, type StepRunner } from './steps';
import cfgs from './configs.json';

const HERE = __dirname;
const PY = '/usr/bin/python3';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

interface TorchResult {
  engine: string;
  blas: string;
  params: number;
  medianStepMs: number;
  stepMs: number[];
  cpuMs: number[];
  firstLoss: number;
  lastLoss: number;
}

/** One block of PyTorch steps in a child process; null (with a reason) when torch is unavailable. */
function torchBlock(model: string, steps: number, warmup: number): TorchResult | { error: string } {
  if (!existsSync(PY)) return { error: `${PY} not found (apt-get install python3-torch)` };
  const r = spawnSync(PY, [join(HERE, '..', 'python', 'train_step_torch.py'), model, String(steps), String(warmup), '2'], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2', MKL_NUM_THREADS: '2' },
    timeout: 600_000,
  });
  if (r.status !== 0)
    return {
      error: `train_step_torch.py ${model} exited ${r.status}: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0]}`,
    };
  try {
    return JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]) as TorchResult;
  } catch {
    return { error: `train_step_torch.py printed no JSON: ${r.stdout.slice(0, 200)}` };
  }
}

/** Wall and CPU (all threads of the process: user + system) milliseconds per step. */
function oursBlock(runner: StepRunner, steps: number, warmup: number): { stepMs: number[]; cpuMs: number[]; losses: number[] } {
  const stepMs: number[] = [],
    cpuMs: number[] = [],
    losses: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const l = runner.step();
    const c = process.cpuUsage(c0);
    const dt = performance.now() - t0;
    if (i >= warmup) {
      stepMs.push(dt);
      cpuMs.push((c.user + c.system) / 1000);
      losses.push(l);
    }
  }
  return { stepMs, cpuMs, losses };
}

/** Child-process entry: run one block of one variant and print {stepMs, cpuMs, losses, params}. */
async function worker(model: string, fast: boolean, steps: number, warmup: number, device: string): Promise<void> {
  await initBackend(device as Device);
  const runner = model === 'policy' ? policyStep(0, fast) : sasrecStep(0, fast);
  const o = oursBlock(runner, steps, warmup);
  console.log(JSON.stringify({ ...o, params: runner.params }));
  runner.dispose();
}

/** One block of our steps in a fresh process (same node + tsx as this one). */
function oursChild(
  model: string,
  fast: boolean,
  steps: number,
  warmup: number,
  device: string,
): { stepMs: number[]; cpuMs: number[]; losses: number[]; params: number } {
  const self = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, self, '--worker', model, fast ? 'fast' : 'asIs', String(steps), String(warmup), device],
    { encoding: 'utf8', timeout: 900_000 },
  );
  if (r.status !== 0)
    throw new Error(`worker ${model}/${fast ? 'fast' : 'asIs'} exited ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`);
  return JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]);
}

async function main(): Promise<void> {
  const wi = process.argv.indexOf('--worker');
  if (wi > 0) {
    const [model, variant, steps, warmup, device] = process.argv.slice(wi + 1);
    return worker(model, variant === 'fast', Number(steps), Number(warmup), device);
  }
  const steps = Number(arg('steps', '8')),
    warmup = Number(arg('warmup', '2')),
    rounds = Number(arg('rounds', '2'));
  const models = arg('models', 'policy,sasrec').split(',');
  const withTorch = !process.argv.includes('--no-torch');
  const backend = await initBackend(arg('device', 'wasm') as Device);
  const out: Record<string, unknown> = {
    bench: 'train-step',
    backend: { name: backend.name, reason: backend.reason },
    modelCode: 'real: core/models/policy.ts (TransformerPolicy) + core/flower/subtb.ts, core/models/sasrec.ts (SASRec)',
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 10) / 10),
    cores: os.cpus().length,
    protocol: `${rounds} rounds x (PyTorch, Flowloop asIs, Flowloop fast), each a fresh process timing ${steps} steps after ${warmup} warm-up steps; medians over all timed steps; machine shared, so only same-run ratios mean anything`,
    models: {} as Record<string, unknown>,
  };
  const t0 = Date.now();
  for (const m of models) {
    if (m !== 'policy' && m !== 'sasrec') throw new Error(`unknown model "${m}" (policy or sasrec)`);
    let params = 0;
    const ours = {
      asIs: { wall: [] as number[], cpu: [] as number[], loss: NaN },
      fast: { wall: [] as number[], cpu: [] as number[], loss: NaN },
    };
    const torch: number[] = [],
      torchCpu: number[] = [];
    let torchInfo: TorchResult | { error: string } | undefined;
    for (let r = 0; r < rounds; r++) {
      if (withTorch) {
        const t = torchBlock(m, steps, warmup);
        torchInfo = t;
        if ('error' in t) break;
        torch.push(...t.stepMs);
        torchCpu.push(...t.cpuMs);
      }
      for (const v of ['asIs', 'fast'] as const) {
        const o = oursChild(m, v === 'fast', steps, warmup, backend.name);
        params = o.params;
        ours[v].wall.push(...o.stepMs);
        ours[v].cpu.push(...o.cpuMs);
        ours[v].loss = o.losses[o.losses.length - 1];
      }
    }
    const torchMs = median(torch),
      torchCpuMs = median(torchCpu);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const summary = (v: 'asIs' | 'fast') => ({
      medianStepMs: Math.round(median(ours[v].wall) * 10) / 10,
      stepMs: ours[v].wall.map((x) => Math.round(x)),
      medianCpuMs: Math.round(median(ours[v].cpu)),
      lastLoss: ours[v].loss,
      ratio: torch.length ? r2(median(ours[v].wall) / torchMs) : null,
      cpuRatio: torchCpu.length ? r2(median(ours[v].cpu) / torchCpuMs) : null,
    });
    (out.models as Record<string, unknown>)[m] = {
      config: cfgs[m as 'policy' | 'sasrec'],
      params,
      flowloop: {
        asIs: {
          about:
            m === 'policy'
              ? 'model code as committed: logProbsAll (full logSoftmax) + one-hot product as core/flower/objective.ts, tf.train.adam'
              : 'model code as committed (core/models/train.ts loss: BCE + L2 term), tf.train.adam',
          ...summary('asIs'),
        },
        fast: {
          about:
            m === 'policy'
              ? 'same forward; token/terminal log-probs by logSoftmaxGather; FusedAdam'
              : 'same forward and BCE; FusedAdam with weight decay in the optimizer (as torch weight_decay)',
          ...summary('fast'),
        },
      },
      torch:
        torchInfo && 'error' in torchInfo
          ? torchInfo
          : torchInfo && {
              engine: torchInfo.engine,
              blas: torchInfo.blas,
              params: torchInfo.params,
              lastLoss: torchInfo.lastLoss,
              medianStepMs: Math.round(torchMs * 10) / 10,
              stepMs: torch.map((x) => Math.round(x)),
              medianCpuMs: Math.round(torchCpuMs),
            },
      target: 'ratio <= 2.0 (moonshot <= 1.0)',
    };
  }
  out.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 10) / 10);
  out.note =
    'ratio = median wall ms per step, ours / PyTorch (the target); cpuRatio = median CPU ms (all threads) per step, robust to other processes on a shared machine';
  out.wallS = Math.round((Date.now() - t0) / 100) / 10;
  console.log(JSON.stringify(out, null, 1));
}

main().catch((e) => {
  console.error(`bench/train-step: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

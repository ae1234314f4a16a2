/**
 * Training-step benchmark: one optimizer step of the Flower policy and of SASRec in Flowloop (the project's
 * real training code, see steps.ts; core/tensor backend with Flowloop's kernels) vs the same models in
 * PyTorch CPU (bench/python/train_step_torch.py, 2 threads, thread env pinned), in the SAME run. Rounds
 * alternate the engines (ours, PyTorch, ours, PyTorch, …), each block in a fresh child process; both sides
 * time batch creation + forward + backward + update + reading the loss. Writes
 * bench/results/<date>-train-step.json (results.ts) and prints it as one JSON line.
 *
 * usage: node --import tsx bench/trainStep/bench.ts [--steps 8] [--warmup 2] [--rounds 5] [--device wasm]
 *        [--models policy,sasrec] [--no-torch]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, type Device } from '../../core/tensor';
import { policyStep, sasrecStep, type StepRunner } from './steps';
import cfgs from './configs.json';
import { fmtSpread, loadAverage, median, recordResult, spread, type Spread } from '../results';

const HERE = __dirname;
const PY = '/usr/bin/python3';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

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

/** Child-process entry: run one block and print {stepMs, cpuMs, losses, params}. */
async function worker(model: string, steps: number, warmup: number, device: string): Promise<void> {
  await initBackend(device as Device);
  const runner = model === 'policy' ? policyStep(0) : sasrecStep(0);
  const o = oursBlock(runner, steps, warmup);
  console.log(JSON.stringify({ ...o, params: runner.params }));
  runner.dispose();
}

/** One block of our steps in a fresh process (same node + tsx as this one). */
function oursChild(
  model: string,
  steps: number,
  warmup: number,
  device: string,
): { stepMs: number[]; cpuMs: number[]; losses: number[]; params: number } {
  const self = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...process.execArgv, self, '--worker', model, String(steps), String(warmup), device], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status !== 0) throw new Error(`worker ${model} exited ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`);
  return JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]);
}

const ABOUT = {
  policy:
    'core/models/policy.ts TransformerPolicy.logProbsAt (token + terminal log-probs, one logSoftmaxGather over the vocabulary) → token CE + core/flower/subtb.ts subtbLossTensor → core/flower/optim.ts AdamW, as core/flower/objective.ts and train.ts call them; batch of random titles created inside the step',
  sasrec:
    'core/models/train.ts trainStep (the step of its training loop): rows picked from a pool and padded, one uniform negative each, SASRec forward (core/models/sasrec.ts), BCE, FusedAdam with L2 weight decay, loss + ½·wd·‖θ‖²',
};
const TORCH_ABOUT = {
  policy: 'bench/python/train_step_torch.py Policy: same layers, losses and Adam (torch.optim.Adam); random batch created inside the step',
  sasrec:
    'bench/python/train_step_torch.py SASRec: same layers, dropout, BCE and torch.optim.Adam(weight_decay); batch = rows indexed from a pre-padded pool tensor + negatives, created inside the step',
};

async function main(): Promise<void> {
  const wi = process.argv.indexOf('--worker');
  if (wi > 0) {
    const [model, steps, warmup, device] = process.argv.slice(wi + 1);
    return worker(model, Number(steps), Number(warmup), device);
  }
  const loadBefore = loadAverage();
  const steps = Number(arg('steps', '8')),
    warmup = Number(arg('warmup', '2')),
    rounds = Number(arg('rounds', '5')); // 5: on the shared 2-core machine (load 8-12) 3 rounds spread 0.9-2.4x
  if (!(rounds >= 1 && steps >= 1)) throw new Error('--rounds and --steps must be >= 1');
  const models = arg('models', 'policy,sasrec').split(',');
  const withTorch = !process.argv.includes('--no-torch');
  const backend = await initBackend(arg('device', 'wasm') as Device);
  const out: Record<string, unknown> = {
    backend: { name: backend.name, reason: backend.reason },
    protocol: `${rounds} rounds per model, alternating Flowloop then PyTorch (ours, peer, ours, peer, …), each block a fresh process timing ${steps} steps after ${warmup} warm-up steps (batch creation included on both sides); a round's figure is the median of its block; figures are min/median/max over rounds, ratio = ours / PyTorch within a round`,
    models: {} as Record<string, unknown>,
  };
  const t0 = Date.now();
  const summaries: string[] = [];
  let torchVersion: string | undefined;
  for (const m of models) {
    if (m !== 'policy' && m !== 'sasrec') throw new Error(`unknown model "${m}" (policy or sasrec)`);
    let params = 0,
      lastLoss = NaN;
    const ours = { wall: [] as number[], cpu: [] as number[], steps: [] as number[] };
    const torch = { wall: [] as number[], cpu: [] as number[], steps: [] as number[] };
    const ratio: number[] = [],
      cpuRatio: number[] = [];
    let torchInfo: TorchResult | { error: string } | undefined;
    for (let r = 0; r < rounds; r++) {
      const o = oursChild(m, steps, warmup, backend.name);
      params = o.params;
      lastLoss = o.losses[o.losses.length - 1];
      ours.wall.push(median(o.stepMs));
      ours.cpu.push(median(o.cpuMs));
      ours.steps.push(...o.stepMs);
      if (withTorch && !(torchInfo && 'error' in torchInfo)) {
        const t = torchBlock(m, steps, warmup);
        torchInfo = t;
        if ('error' in t) continue;
        torchVersion = t.engine;
        torch.wall.push(median(t.stepMs));
        torch.cpu.push(median(t.cpuMs));
        torch.steps.push(...t.stepMs);
        ratio.push(median(o.stepMs) / median(t.stepMs));
        cpuRatio.push(median(o.cpuMs) / median(t.cpuMs));
      }
    }
    const entry = {
      config: cfgs[m as 'policy' | 'sasrec'],
      params,
      flowloop: {
        code: ABOUT[m as 'policy' | 'sasrec'],
        stepMs: spread(ours.wall, 1),
        cpuMs: spread(ours.cpu, 1),
        lastLoss,
        allStepsMs: spread(ours.steps, 1),
      },
      torch:
        torchInfo && 'error' in torchInfo
          ? torchInfo
          : torchInfo && {
              code: TORCH_ABOUT[m as 'policy' | 'sasrec'],
              engine: torchInfo.engine,
              blas: torchInfo.blas,
              params: torchInfo.params,
              lastLoss: torchInfo.lastLoss,
              stepMs: spread(torch.wall, 1),
              cpuMs: spread(torch.cpu, 1),
              allStepsMs: spread(torch.steps, 1),
            },
      ratio: ratio.length ? spread(ratio) : null,
      cpuRatio: cpuRatio.length ? spread(cpuRatio) : null,
      target: m === 'sasrec' ? 'ratio <= 1.0' : 'ratio <= 2.0',
    };
    (out.models as Record<string, unknown>)[m] = entry;
    summaries.push(
      entry.ratio
        ? `${m} ${fmtSpread(entry.ratio)}× PyTorch wall (${entry.flowloop.stepMs.median} vs ${(entry.torch as { stepMs: Spread }).stepMs.median} ms), CPU ${fmtSpread(entry.cpuRatio!)}×`
        : `${m} ${entry.flowloop.stepMs.median} ms (no PyTorch: ${torchInfo && 'error' in torchInfo ? torchInfo.error : 'skipped'})`,
    );
  }
  out.versions = { node: process.versions.node, torch: torchVersion ?? null };
  out.note =
    'ratio = ours / PyTorch of the round medians of wall ms per step (the target); cpuRatio = the same for CPU ms (all threads of the process), less sensitive to other processes on a shared machine';
  out.wallS = Math.round((Date.now() - t0) / 100) / 10;
  out.summary = `${summaries.join('; ')}; ${rounds} alternating rounds, load ${loadBefore[0]}→${loadAverage()[0]}`;
  recordResult('train-step', loadBefore, out);
}

main().catch((e) => {
  console.error(`bench/trainStep: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

/**
 * Hugging Face causal-LM benchmark: forward + backward tokens/s of Flowloop's Qwen2 block (core/llm) vs
 * PyTorch CPU (bench/python/llm_step_torch.py: the oracle's Model from test/oracles/hf_tiny.py, 2 threads)
 * on the SAME shapes in the same run, random weights:
 *   tiny  — the test model's shape (hidden 64, 2 layers, 4/2 heads, vocabulary 151,936, tied), full gradients;
 *   0.5B  — Qwen2.5-0.5B's shape (hidden 896, 24 layers, 14/2 heads, MLP 4864, vocabulary 151,936, tied,
 *           494 M parameters), LoRA r=8 gradients on every linear layer (full gradients need 2 GB more than
 *           the 4 GiB WebAssembly heap holds).
 * The loss is the mean full-vocabulary log-probability of T title tokens after a P-token prompt (a Flower
 * SFT step without the optimizer). tokens/s counts all B·(P+T) tokens through the network. Each engine runs
 * in a fresh child process per block, in alternating rounds (--rounds, default 3; each block times `steps`
 * steps after `warmup` steps: tiny 5 after 1, 0.5B 2 after 1); reported: min/median/max over rounds of each
 * engine's median step and of the ratio Flowloop / PyTorch within a round (lower is better), load average.
 * Speed is never asserted (tests assert exactness).
 *
 * usage: node --import tsx bench/llm/bench.ts [--shapes tiny,0.5B] [--rounds 3] [--steps N] [--warmup N] [--device auto]
 * Prints one JSON object.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import { fmtSpread, loadAverage, median, recordResult, spread } from '../results';

const PY = '/usr/bin/python3';
const HERE = __dirname;

interface Shape {
  name: string;
  mode: 'full' | 'lora';
  /** timed steps and warm-up steps per block (--steps / --warmup override) */
  steps: number;
  warmup: number;
  r: number;
  B: number;
  P: number;
  T: number;
  config: {
    vocab_size: number;
    hidden_size: number;
    intermediate_size: number;
    num_hidden_layers: number;
    num_attention_heads: number;
    num_key_value_heads: number;
    rope_theta: number;
  };
}

const SHAPES: Shape[] = [
  {
    name: 'tiny',
    mode: 'full',
    steps: 5,
    warmup: 1,
    r: 8,
    B: 4,
    P: 112,
    T: 16,
    config: {
      vocab_size: 151936,
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      rope_theta: 1e6,
    },
  },
  {
    name: '0.5B',
    mode: 'lora',
    steps: 2,
    warmup: 1,
    r: 8,
    B: 1,
    P: 112,
    T: 16,
    config: {
      vocab_size: 151936,
      hidden_size: 896,
      intermediate_size: 4864,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      rope_theta: 1e6,
    },
  },
];

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

interface Block {
  stepMs: number[];
  cpuMs: number[];
  loadS: number;
  params: number;
  trainable: number;
  engine: string;
  loss?: number | null;
  backend?: string;
}

/** Child: one engine, one shape; prints a Block as its last line. */
async function child(shape: Shape, steps: number, warmup: number, device: string): Promise<void> {
  const { initBackend } = await import('../../core/tensor');
  const { CausalLM } = await import('../../core/llm/model');
  const { LmPolicy } = await import('../../core/llm/policy');
  const { parseHfConfig, expectedWeights } = await import('../../core/llm/hfConfig');
  const be = await initBackend(device as 'auto');
  const tf = be.tf;
  const t0 = performance.now();
  const cfg = parseHfConfig(
    { architectures: ['Qwen2ForCausalLM'], ...shape.config, tie_word_embeddings: true, rms_norm_eps: 1e-6 },
    'bench',
  );
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, s] of expectedWeights(cfg)) {
    const n = s.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const scale = name.endsWith('norm.weight') ? 0 : name.includes('embed') ? 0.6 : 2 / Math.sqrt(s[s.length - 1]);
    for (let i = 0; i < n; i++) data[i] = name.endsWith('norm.weight') ? 1 : rnd() * scale;
    tensors.set(name, { shape: s, data });
  }
  const lm = new CausalLM(cfg, tensors, 'bench');
  tensors.clear();
  let vars: TF.Variable[];
  if (shape.mode === 'full') vars = lm.setTrainable('all');
  else {
    vars = [];
    for (const name of Object.keys(lm.weights)) {
      const m = /^(.*\.(?:q|k|v|o|gate|up|down)_proj)\.weight$/.exec(name);
      if (!m) continue;
      const [out, inp] = lm.weights[name].shape;
      const A = tf.variable(tf.randomNormal([shape.r, inp], 0, 1 / Math.sqrt(inp)), true);
      const B = tf.variable(tf.randomNormal([out, shape.r], 0, 0.01), true);
      lm.adapters.set(m[1], { A: A as unknown as TF.Tensor2D, B: B as unknown as TF.Tensor2D, scale: 2 });
      vars.push(A, B);
    }
  }
  const loadS = (performance.now() - t0) / 1000;
  const pol = new LmPolicy(lm, 151643);
  const ids = (n: number) => Array.from({ length: n }, () => Math.floor((rnd() + 0.5) * 151000));
  const prompts = Array.from({ length: shape.B }, () => ids(shape.P));
  const rows = Array.from({ length: shape.B }, () => ids(shape.T - 1));
  const labels = (T: number) => {
    const l = new Int32Array(shape.B * T);
    rows.forEach((r, b) => {
      for (let t = 0; t < T; t++) l[b * T + t] = t < r.length ? r[t] : 151645;
    });
    return l;
  };
  const stepMs: number[] = [],
    cpuMs: number[] = [];
  let loss = NaN;
  for (let i = 0; i < warmup + steps; i++) {
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(pol.logProbsAt(prompts, rows, 1, labels).lp)) as TF.Scalar, vars);
    loss = (await value.data())[0];
    await Promise.all(Object.values(grads).map((g) => g.data()));
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    const c = process.cpuUsage(c0);
    if (i >= warmup) {
      stepMs.push(performance.now() - w0);
      cpuMs.push((c.user + c.system) / 1000);
    }
  }
  const block: Block = {
    engine: 'flowloop',
    backend: `${be.name}: ${be.reason}`,
    stepMs,
    cpuMs,
    loadS,
    params: lm.paramCount(),
    trainable: vars.reduce((a, v) => a + v.size, 0),
    loss,
  };
  console.log(JSON.stringify(block));
}

function lastJson(out: string): Block | { error: string } {
  const line = out.trim().split('\n').slice(-1)[0] ?? '';
  try {
    return JSON.parse(line) as Block;
  } catch {
    return { error: `no JSON result: ${out.slice(-300)}` };
  }
}

function run(cmd: string, args: string[]): Block | { error: string } {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2' },
    timeout: 40 * 60_000,
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) {
    // the message, not the stack: the first error-looking stderr lines and the last few
    const lines = (r.stderr ?? '').split('\n').filter((l) => l.trim() && !/^\s+at /.test(l));
    const first = lines.filter((l) => /error|Error|abort|memory/.test(l)).slice(0, 3);
    return { error: `${cmd} exited ${r.status ?? r.signal}: ${[...first, ...lines.slice(-4)].join(' | ').slice(0, 1500)}` };
  }
  return lastJson(r.stdout);
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  if (process.argv[2] === '--child') {
    const shape = SHAPES.find((s) => s.name === process.argv[3])!;
    await child(shape, Number(arg('steps', '3')), Number(arg('warmup', '1')), arg('device', 'auto'));
    return;
  }
  const rounds = Math.max(1, Number(arg('rounds', '3')) || 3);
  const device = arg('device', 'auto');
  const want = arg('shapes', 'tiny,0.5B').split(',');
  const out: Record<string, unknown> = {};
  const summary: string[] = [];
  for (const shape of SHAPES.filter((s) => want.includes(s.name))) {
    const steps = Number(arg('steps', String(shape.steps))),
      warmup = Number(arg('warmup', String(shape.warmup)));
    const load0 = loadAverage();
    const runOurs = () =>
      run(process.execPath, [
        '--import',
        'tsx',
        __filename,
        '--child',
        shape.name,
        '--steps',
        String(steps),
        '--warmup',
        String(warmup),
        '--device',
        device,
      ]);
    const runTorch = () =>
      run(PY, [join(HERE, '..', 'python', 'llm_step_torch.py'), JSON.stringify(shape), String(steps), String(warmup), '2']);
    // alternating rounds, each block a fresh process per engine: ours, torch | torch, ours | …
    const ours: (Block | { error: string })[] = [],
      torch: (Block | { error: string })[] = [];
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        ours.push(runOurs());
        torch.push(runTorch());
      } else {
        torch.push(runTorch());
        ours.push(runOurs());
      }
      const o = ours[r],
        t = torch[r];
      console.error(
        `llm ${shape.name} round ${r + 1}/${rounds}: Flowloop ${'error' in o ? o.error : `${median(o.stepMs).toFixed(0)} ms`}, PyTorch ${'error' in t ? t.error : `${median(t.stepMs).toFixed(0)} ms`} (load ${os.loadavg()[0].toFixed(1)})`,
      );
    }
    const tokens = shape.B * (shape.P + shape.T - 1);
    const failed = [...ours, ...torch].find((b): b is { error: string } => 'error' in b);
    if (failed) {
      out[shape.name] = { shape: { ...shape }, error: failed.error, ours, torch };
      summary.push(`${shape.name}: ERROR ${failed.error}`);
      continue;
    }
    const o = ours as Block[],
      t = torch as Block[];
    // a round's figure is the median of its block's steps; figures are min/median/max over rounds
    const engine = (bs: Block[]) => {
      const { stepMs: _s, cpuMs: _c, ...about } = bs[0];
      return {
        ...about,
        stepMs: spread(
          bs.map((b) => median(b.stepMs)),
          0,
        ),
        cpuMs: spread(
          bs.map((b) => median(b.cpuMs)),
          0,
        ),
        loadS: spread(bs.map((b) => b.loadS)),
        tokensPerS: Number((tokens / (median(bs.map((b) => median(b.stepMs))) / 1000)).toFixed(1)),
        allStepsMs: bs.map((b) => b.stepMs.map((x) => Math.round(x))),
      };
    };
    const fo = engine(o),
      ft = engine(t);
    const ratio = spread(o.map((b, r) => median(b.stepMs) / median(t[r].stepMs)));
    const cpuRatio = spread(o.map((b, r) => median(b.cpuMs) / median(t[r].cpuMs)));
    out[shape.name] = {
      shape: { ...shape },
      tokensPerStep: tokens,
      loadAverage: { before: load0, after: loadAverage() },
      flowloop: fo,
      torch: ft,
      ratio,
      cpuRatio,
    };
    summary.push(
      `${shape.name} (${shape.mode}, ${rounds} alternating rounds of ${steps} steps after ${warmup} warm-up): Flowloop / PyTorch step time ${fmtSpread(ratio)} (medians ${fo.stepMs.median} vs ${ft.stepMs.median} ms, ${fo.tokensPerS} vs ${ft.tokensPerS} tok/s), CPU time ${fmtSpread(cpuRatio)}, load ${load0[0]}`,
    );
  }
  recordResult('llm', loadBefore, {
    protocol:
      "per shape, alternating rounds (Flowloop then PyTorch, PyTorch then Flowloop, …), each block a fresh process per engine (weights built outside the timer, reported as loadS) timing its steps after its warm-up steps; a round's figure is the median of its block; figures are min/median/max over rounds, ratio = Flowloop / PyTorch within a round (lower is better); random weights (exactness is asserted by the tests, not here)",
    summary: summary.join('; '),
    cpus: os.cpus().length,
    ...out,
  });
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});

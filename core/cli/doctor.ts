/**
 * `flowloop doctor`: what this installation will run on, one line per check, each with what to do when it
 * is missing. A list of checks (DOCTOR_CHECKS): a new line is one more entry (name, run → status, detail,
 * fix). Exit 0 unless a check fails (a run could not start); `warn` lines (optional parts: GPU, shared
 * data, LLM endpoint) never fail it. Never prints an API key; every probe is bounded in time.
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from './args';
import { commandUsage, parseCommandArgs } from './commands';
import { isBundled, packageVersions, projectRoot } from '../util/buildInfo';

export type DoctorStatus = 'ok' | 'warn' | 'fail';

export interface DoctorResult {
  status: DoctorStatus;
  /** What was found (one line). */
  detail: string;
  /** What to do about a warn/fail (one line). */
  fix?: string;
}

export interface DoctorCheck {
  name: string;
  run(ctx: DoctorContext): Promise<DoctorResult> | DoctorResult;
}

export interface DoctorContext {
  /** The folder doctor looks from (the workspace: data paths, run folders). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Bound for network probes (ms). */
  timeoutMs: number;
  /** `--model`: a Hugging Face model folder to check (the `model` line). */
  model?: string;
  /** `--device` for the model line (default auto). */
  device?: 'auto' | 'gpu' | 'cpu' | 'wasm';
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);

/** The checks, in the order printed. Extend by adding an entry. */
export const DOCTOR_CHECKS: DoctorCheck[] = [
  {
    name: 'flowloop',
    run: () => {
      const v = packageVersions();
      const where = isBundled() ? `bundle in ${projectRoot() ?? __dirname}` : `sources in ${projectRoot() ?? process.cwd()}`;
      return {
        status: 'ok',
        detail: `${v.flowloop ?? '?'} (node ${v.node}, tfjs-core ${v['@tensorflow/tfjs-core'] ?? '?'}, onnxruntime-node ${v['onnxruntime-node'] ?? '?'}; ${where})`,
      };
    },
  },
  {
    name: 'backend',
    run: async () => {
      const { initBackend } = await import('../tensor');
      try {
        const b = await initBackend('auto');
        const fast = b.name === 'wasm' || b.name === 'tensorflow' || b.name === 'webgpu';
        return fast
          ? { status: 'ok', detail: `${b.name}: ${b.reason}` }
          : {
              status: 'warn',
              detail: `${b.name}: ${b.reason}`,
              fix: 'the WebAssembly backend did not start: reinstall Flowloop (dist/*.wasm missing?) — runs on plain JavaScript are slow',
            };
      } catch (e) {
        return {
          status: 'fail',
          detail: `no tensor backend starts: ${firstLine(e)}`,
          fix: 'reinstall Flowloop (npm ci, or the VSIX / npm package)',
        };
      }
    },
  },
  {
    name: 'kernels',
    run: async () => {
      const { loadNative, NATIVE_PLATFORM } = await import('../tensor/native');
      const n = loadNative();
      if (n.mod) return { status: 'ok', detail: `native: ${n.why} (${n.file})` };
      const here = `${process.platform}-${process.arch}`;
      return {
        status: 'warn',
        detail: `WebAssembly kernels: ${n.why}`,
        fix:
          here !== NATIVE_PLATFORM
            ? `the prebuilt native kernels are ${NATIVE_PLATFORM} only; WebAssembly kernels are correct, several times slower for training`
            : 'from the repository: apt-get install -y g++ libopenblas-dev, then npm ci (or node native/build.mjs); unset FLOWLOOP_NATIVE if it is 0',
      };
    },
  },
  {
    name: 'tokenizer',
    run: async () => {
      const { qwenTokenizerDir } = await import('../tokenize/qwen');
      try {
        return { status: 'ok', detail: `qwen2.5 data in ${qwenTokenizerDir()}` };
      } catch (e) {
        return { status: 'fail', detail: firstLine(e), fix: 'reinstall Flowloop (the tokenizer data ships in dist/tokenizers/)' };
      }
    },
  },
  {
    name: 'onnx',
    run: async () => {
      try {
        const ort = await import('onnxruntime-node');
        const list =
          (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends?.() ?? [];
        const have = list.filter((b) => b.bundled).map((b) => b.name);
        const absent = list.filter((b) => !b.bundled).map((b) => b.name);
        return {
          status: 'ok',
          detail:
            `onnxruntime-node ${packageVersions()['onnxruntime-node'] ?? ''}: execution providers ${have.join(', ') || 'cpu'}` +
            (absent.length
              ? `; ${absent.join(', ')} not shipped (their libraries come with ONNXRUNTIME_NODE_INSTALL=cuda12 npm install from the repository)`
              : ''),
        };
      } catch (e) {
        return {
          status: 'warn',
          detail: `onnxruntime-node does not load: ${firstLine(e)}`,
          fix: 'engine "onnx" and export-onnx are unavailable; reinstall Flowloop (dist/onnxruntime/ missing?)',
        };
      }
    },
  },
  {
    name: 'gpu',
    run: async () => {
      const { nvidiaGpuVisible } = await import('../tensor');
      const visible = nvidiaGpuVisible();
      let tfjsNodeGpu = false;
      try {
        require.resolve('@tensorflow/tfjs-node-gpu');
        tfjsNodeGpu = true;
      } catch {
        /* not installed */
      }
      if (visible && tfjsNodeGpu)
        return { status: 'ok', detail: 'NVIDIA GPU visible; @tensorflow/tfjs-node-gpu installed (device "gpu" / "auto" use it)' };
      return {
        status: 'warn',
        detail: `${visible ? 'NVIDIA GPU visible' : 'no NVIDIA GPU visible (/proc/driver/nvidia/gpus, CUDA_VISIBLE_DEVICES)'}; @tensorflow/tfjs-node-gpu ${tfjsNodeGpu ? 'installed' : 'not installed'}`,
        fix: visible
          ? 'install @tensorflow/tfjs-node-gpu beside Flowloop for device "gpu"; runs use the CPU meanwhile'
          : 'runs use the CPU (fine for the demo and the examples)',
      };
    },
  },
  {
    name: 'data',
    run: async (ctx) => {
      const { examplesRq1Dir } = await import('../flower/demo');
      const { findSharedData } = await import('../data/sharedData');
      const demo = join(examplesRq1Dir(), 'select_100_Movies.json');
      const shared = findSharedData(ctx.cwd);
      const runs = join(resolve(ctx.cwd), '.flowloop', 'runs');
      let writable = true;
      try {
        mkdirSync(resolve(ctx.cwd), { recursive: true });
        accessSync(resolve(ctx.cwd), constants.W_OK);
      } catch {
        writable = false;
      }
      const parts = [
        `demo data ${existsSync(demo) ? demo : 'MISSING'}`,
        `shared data ${shared ?? 'not found'}`,
        `runs → ${runs}${writable ? '' : ' (NOT writable)'}`,
      ];
      if (!existsSync(demo) || !writable)
        return {
          status: 'fail',
          detail: parts.join('; '),
          fix: !writable
            ? 'run from a folder you can write to (or pass --out)'
            : 'reinstall Flowloop (examples/rq1 is part of the package)',
        };
      if (!shared)
        return {
          status: 'warn',
          detail: parts.join('; '),
          fix: 'configs other than the demo read ../shared/data/...: put the data folder at shared/data beside (or above) the workspace, or edit the paths in the config',
        };
      return { status: 'ok', detail: parts.join('; ') };
    },
  },
  {
    name: 'llm',
    run: async (ctx) => {
      const { apiKeyFromEnv } = await import('../afl/llmKey');
      const base = (ctx.env.OPENAI_BASE_URL || 'https://api.openai.com/v1').replace(/\/+$/, '');
      const key = apiKeyFromEnv(ctx.env);
      const keyNote = key ? 'API key set (FLOWLOOP_LLM_API_KEY / OPENAI_API_KEY)' : 'no API key in the environment';
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), ctx.timeoutMs);
      try {
        const r = await fetch(`${base}/models`, { signal: ac.signal, headers: key ? { authorization: `Bearer ${key}` } : {} });
        await r.body?.cancel().catch(() => {});
        if (r.ok) return { status: 'ok', detail: `${base} answers (GET /models ${r.status}); ${keyNote}` };
        return {
          status: 'warn',
          detail: `${base} answers GET /models with HTTP ${r.status}; ${keyNote}`,
          fix:
            r.status === 401 || r.status === 403
              ? 'set the API key (FLOWLOOP_LLM_API_KEY, or Flowloop: Set LLM API Key in VS Code)'
              : 'check OPENAI_BASE_URL (an OpenAI-compatible server ending in /v1)',
        };
      } catch (e) {
        const why = ac.signal.aborted ? `no answer in ${ctx.timeoutMs} ms` : firstLine((e as { cause?: unknown }).cause ?? e);
        return {
          status: 'warn',
          detail: `${base} not reachable (${why}); ${keyNote}`,
          fix: 'only AFL runs with "agents": "llm" need it: start an OpenAI-compatible server (vLLM, Ollama) and set OPENAI_BASE_URL, or the config\'s llm.baseURL',
        };
      } finally {
        clearTimeout(timer);
      }
    },
  },
  {
    name: 'model',
    run: async (ctx) => {
      if (!ctx.model)
        return { status: 'ok', detail: 'no Hugging Face model folder given (flowloop doctor --model <folder> [--device gpu] checks one)' };
      const { modelReport } = await import('../llm/describe');
      const { initBackend } = await import('../tensor');
      try {
        const r = modelReport(resolve(ctx.model), await initBackend(ctx.device ?? 'auto'));
        return r.fitsPaperSetting
          ? { status: 'ok', detail: r.line }
          : {
              status: 'warn',
              detail: r.line,
              fix: 'the released full fine-tuning (micro-batch 8 × 512) does not fit this backend: use device "gpu" on a large GPU, LoRA, a smaller micro-batch or cutoff (flowloop lm info --model <folder> lists each estimate)',
            };
      } catch (e) {
        return {
          status: 'fail',
          detail: firstLine(e),
          fix: 'point --model at a local Hugging Face folder (config.json, *.safetensors, tokenizer.json, tokenizer_config.json); see the README, "Bring a Hugging Face model"',
        };
      }
    },
  },
];

/** Run every check (each bounded; one throwing becomes its own fail line). */
export async function runDoctor(
  ctx: DoctorContext,
  checks: DoctorCheck[] = DOCTOR_CHECKS,
): Promise<{ name: string; result: DoctorResult }[]> {
  const out: { name: string; result: DoctorResult }[] = [];
  for (const c of checks) {
    let result: DoctorResult;
    try {
      result = await c.run(ctx);
    } catch (e) {
      result = { status: 'fail', detail: `check failed: ${firstLine(e)}` };
    }
    out.push({ name: c.name, result });
  }
  return out;
}

/** `flowloop doctor [--json]`. */
export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs('doctor', argv);
  if (parsed.flags.help) {
    process.stdout.write(commandUsage('doctor') + '\n');
    return 0;
  }
  if (parsed.positional.length) throw new UsageError(`doctor takes no arguments, got "${parsed.positional[0]}"`);
  const timeoutMs = Number(parsed.flags.timeout ?? 3000);
  const device = parsed.flags.device as string | undefined;
  if (device !== undefined && !['auto', 'gpu', 'cpu', 'wasm'].includes(device))
    throw new UsageError(`--device must be auto, gpu, cpu or wasm (got "${device}")`);
  const results = await runDoctor({
    cwd: (parsed.flags.dir as string) ?? process.cwd(),
    env: process.env,
    timeoutMs: Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 3000,
    model: parsed.flags.model as string | undefined,
    device: device as DoctorContext['device'],
  });
  if (parsed.flags.json)
    process.stdout.write(
      JSON.stringify(
        results.map((r) => ({ name: r.name, ...r.result })),
        null,
        2,
      ) + '\n',
    );
  else {
    const w = Math.max(...results.map((r) => r.name.length));
    for (const { name, result } of results) {
      process.stdout.write(`${result.status.padEnd(4)}  ${name.padEnd(w)}  ${result.detail}\n`);
      if (result.fix && result.status !== 'ok') process.stdout.write(`${' '.repeat(w + 8)}→ ${result.fix}\n`);
    }
  }
  return results.some((r) => r.result.status === 'fail') ? 1 : 0;
}

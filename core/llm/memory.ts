/**
 * Memory estimate of a causal-LM run before it starts (weights, LoRA, gradients, Adam moments,
 * activations of the micro-batch, KV cache and logits), and the check against what the chosen backend
 * can hold — a clear error instead of an out-of-memory crash halfway through a run. Everything is
 * float32 (4 bytes): tfjs has no half type. The activation term counts what tfjs keeps alive for the
 * backward pass (every intermediate of the forward, per layer and token), so it is an upper-side
 * estimate; llmtrain's training terms (LoRA, full fine-tuning) are parameters of the same function.
 */
import { freemem, totalmem } from 'node:os';
import { spawnSync } from 'node:child_process';
import { parameterCount, type LlmConfig } from './hfConfig';

export interface MemoryPlan {
  /** Sequences processed at once (training micro-batch, or decoding rows). */
  microBatch: number;
  /** Tokens per sequence (prompt + completion, after the cutoff). */
  seqLen: number;
  /** Positions per sequence whose full-vocabulary distribution is computed (title / completion tokens; default seqLen). */
  predicted?: number;
  /** Training: `full` = every weight trainable (grads + AdamW m, v); `lora` = only `loraParams`. Absent = inference. */
  training?: { mode: 'full' | 'lora'; loraParams?: number };
  /** Decoding: states kept in the KV cache (rows × beams) and new tokens per state. */
  decode?: { states: number; newTokens: number };
}

export interface MemoryEstimate {
  bytes: number;
  parts: Record<string, number>;
  /** One line: "6.2 GB = weights 6.2 GB + …". */
  text: string;
}

const F = 4;

export function formatBytes(b: number): string {
  return b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(0)} kB`;
}

/** Number of LoRA parameters for rank r on the given module kinds (q_proj, k_proj, …) of every layer. */
export function loraParamCount(cfg: LlmConfig, r: number, targets: string[]): number {
  const q = cfg.heads * cfg.headDim,
    kv = cfg.kvHeads * cfg.headDim,
    D = cfg.hidden,
    I = cfg.intermediate;
  const dims: Record<string, [number, number]> = {
    q_proj: [D, q],
    k_proj: [D, kv],
    v_proj: [D, kv],
    o_proj: [q, D],
    gate_proj: [D, I],
    up_proj: [D, I],
    down_proj: [I, D],
  };
  let n = 0;
  for (const t of targets) {
    const d = dims[t.split('.').pop() ?? t];
    if (d) n += r * (d[0] + d[1]);
  }
  return n * cfg.layers;
}

/** Bytes a run of `cfg` needs under `plan` (see the module comment for what is counted). */
export function estimateMemory(cfg: LlmConfig, plan: MemoryPlan): MemoryEstimate {
  const P = parameterCount(cfg);
  const { microBatch: B, seqLen: L } = plan;
  const D = cfg.hidden,
    I = cfg.intermediate,
    q = cfg.heads * cfg.headDim,
    kv = cfg.kvHeads * cfg.headDim,
    V = cfg.vocabSize;
  const parts: Record<string, number> = { weights: P * F };
  // Per token and layer: residual/norm/projection outputs, RoPE copies of q/k, SwiGLU intermediates.
  const perTokenLayer = 8 * D + 4 * q + 6 * kv + 5 * I;
  const perLayerAttention = 3 * cfg.heads * L * L; // scores, masked, softmax
  const train = plan.training;
  const actLayer = B * (L * perTokenLayer + perLayerAttention) * F;
  // Training keeps every layer's intermediates for the backward pass; inference (CausalLM.hidden with
  // `inference`) frees each layer's as soon as it is done.
  parts.activations = train ? actLayer * cfg.layers : actLayer + B * L * cfg.hidden * F;
  // Logits [B·predicted, V]: value, log-softmax and its gradient in training; one value in inference.
  parts.logits = B * (plan.predicted ?? L) * V * F * (train ? 3 : 1);
  if (train?.mode === 'full') {
    parts.gradients = P * F;
    parts.adam = 2 * P * F;
  } else if (train?.mode === 'lora') {
    const n = train.loraParams ?? 0;
    parts.lora = n * F;
    parts.gradients = n * F;
    parts.adam = 2 * n * F;
  }
  if (plan.decode) {
    const slots = L + plan.decode.newTokens;
    parts.kvCache = 2 * 2 * cfg.layers * kv * slots * plan.decode.states * F; // current + next step's copy
  }
  const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
  const text = `${formatBytes(bytes)} = ${Object.entries(parts)
    .map(([k, v]) => `${k} ${formatBytes(v)}`)
    .join(' + ')}`;
  return { bytes, parts, text };
}

/** What a backend can hold, and why that number. */
export function backendMemory(backend: string): { bytes: number; why: string } {
  if (backend === 'wasm') return { bytes: 4 * 2 ** 30, why: 'the WebAssembly backend addresses at most 4 GiB (wasm32)' };
  if (backend === 'tensorflow' || backend === 'webgpu') {
    const r = spawnSync('nvidia-smi', ['--query-gpu=memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 5000 });
    const mib = Number((r.stdout ?? '').split('\n')[0]);
    if (r.status === 0 && mib > 0) return { bytes: mib * 2 ** 20, why: `GPU memory reported by nvidia-smi (${mib} MiB)` };
  }
  return {
    bytes: Math.max(freemem(), totalmem() * 0.8),
    why: `system memory (${formatBytes(totalmem())} total, ${formatBytes(freemem())} free)`,
  };
}

/** Throw a clear error when the estimate does not fit the backend (before any weight is read). */
export function checkMemory(est: MemoryEstimate, backend: string, what: string): { fits: true; line: string } {
  const avail = backendMemory(backend);
  const line = `memory estimate for ${what}: ${est.text}; ${backend} can hold ${formatBytes(avail.bytes)} (${avail.why})`;
  if (est.bytes > avail.bytes) {
    throw new Error(
      `${line} — does not fit. Use a smaller micro-batch or cutoff, LoRA instead of full fine-tuning, a smaller model, or a backend with more memory (device "gpu" with tfjs-node-gpu; device "cpu" is not limited to 4 GiB but is slow)`,
    );
  }
  return { fits: true, line };
}

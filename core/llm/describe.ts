/**
 * What a model folder is and where it would run, without reading its weights (`flowloop lm info`, the
 * first lines of a run): architecture and shape, parameters, the dtypes its safetensors store, the
 * backend chosen for `device` and why, and memory estimates of the usual workloads against that
 * backend (docs/methods.md §A6b: Flower's released settings are micro-batch 8, cutoff 512, full fine-tuning).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parameterCount } from './hfConfig';
import { checkModelFolder, precisionNote } from './load';
import { backendMemory, estimateMemory, formatBytes, loraParamCount, type MemoryPlan } from './memory';
import { readSafetensorsHeader } from './safetensors';

/** Dtypes stored in the folder's safetensors (headers only). */
export function storedDtypes(dir: string): string[] {
  const index = join(dir, 'model.safetensors.index.json');
  const files = existsSync(index)
    ? [...new Set(Object.values((JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map))]
    : ['model.safetensors'];
  const out = new Set<string>();
  for (const f of files) for (const t of Object.values(readSafetensorsHeader(join(dir, f)).tensors)) out.add(t.dtype);
  return [...out].sort();
}

/**
 * One line for `flowloop doctor --model` and a run's first lines: architecture, size, stored dtype, the
 * backend and why, and whether the released full fine-tuning (micro-batch 8 × 512) fits there.
 */
export function modelReport(dir: string, backend: { name: string; reason: string }): { line: string; fitsPaperSetting: boolean } {
  const cfg = checkModelFolder(dir);
  const avail = backendMemory(backend.name);
  const full = estimateMemory(cfg, { microBatch: 8, seqLen: 512, predicted: 64, training: { mode: 'full' } });
  const beam = estimateMemory(cfg, { microBatch: 1, seqLen: 512, predicted: 10, decode: { states: 10, newTokens: 64 } });
  const fits = full.bytes <= avail.bytes;
  const line =
    `${dir}: ${cfg.architectureName}, ${(parameterCount(cfg) / 1e6).toFixed(0)} M parameters, ${precisionNote(storedDtypes(dir), backend.name)}; ` +
    `would run on ${backend.name} (${backend.reason.split(' (skipped')[0]}); memory ${formatBytes(avail.bytes)}: beam search (10 beams) needs ${formatBytes(beam.bytes)}${beam.bytes <= avail.bytes ? '' : ' — DOES NOT FIT'}, ` +
    `full fine-tuning at micro-batch 8 × 512 ${formatBytes(full.bytes)}${fits ? '' : ' — DOES NOT FIT'}`;
  return { line, fitsPaperSetting: fits };
}

/** Human-readable lines about a model folder on a backend. */
export function describeModel(dir: string, backend: { name: string; reason: string }): string[] {
  const cfg = checkModelFolder(dir);
  const P = parameterCount(cfg);
  const dts = storedDtypes(dir);
  const avail = backendMemory(backend.name);
  const lines = [
    `model: ${dir}`,
    `architecture: ${cfg.architectureName}, ${cfg.layers} layers, hidden ${cfg.hidden}, ${cfg.heads} heads / ${cfg.kvHeads} kv heads (head dim ${cfg.headDim}), MLP ${cfg.intermediate}, vocabulary ${cfg.vocabSize}, ${cfg.tieEmbeddings ? 'tied' : 'untied'} embeddings, RoPE θ ${cfg.ropeTheta}${cfg.ropeScaling.type === 'default' ? '' : ` (${cfg.ropeScaling.type} scaling)`}`,
    `parameters: ${(P / 1e6).toFixed(1)} M; ${precisionNote(dts, backend.name)}`,
    `backend: ${backend.name} — ${backend.reason}`,
    `memory available: ${formatBytes(avail.bytes)} (${avail.why})`,
  ];
  const plans: [string, MemoryPlan][] = [
    ['lm score, batch 8 × 512 tokens (64 scored)', { microBatch: 8, seqLen: 512, predicted: 64 }],
    [
      'beam search, 10 beams × 512-token prompt + 64 new tokens',
      { microBatch: 1, seqLen: 512, predicted: 10, decode: { states: 10, newTokens: 64 } },
    ],
    [
      'LoRA r=8 on q_proj,v_proj, micro-batch 8 × 512 (64 title states)',
      { microBatch: 8, seqLen: 512, predicted: 64, training: { mode: 'lora', loraParams: loraParamCount(cfg, 8, ['q_proj', 'v_proj']) } },
    ],
    [
      'full fine-tuning (the released Flower setting), micro-batch 8 × 512 (64 title states)',
      { microBatch: 8, seqLen: 512, predicted: 64, training: { mode: 'full' } },
    ],
    ['full fine-tuning, micro-batch 1 × 512 (64 title states)', { microBatch: 1, seqLen: 512, predicted: 64, training: { mode: 'full' } }],
  ];
  for (const [what, plan] of plans) {
    const est = estimateMemory(cfg, plan);
    lines.push(`${est.bytes <= avail.bytes ? 'fits' : 'DOES NOT FIT'}: ${what}: ${est.text}`);
  }
  return lines;
}

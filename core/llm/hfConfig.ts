/**
 * A Hugging Face `config.json` of a decoder-only causal LM, read into the fields Flowloop's model needs
 * (docs/methods.md §A6b: the paper's backbone is a Qwen2/2.5 causal LM). Two architectures:
 * - `Qwen2ForCausalLM`: RMSNorm, rotary embeddings (rope_theta, rope_scaling), grouped-query attention
 *   with q/k/v biases (no o_proj bias), SwiGLU MLP, tied or untied input/output embeddings;
 * - `LlamaForCausalLM`: the same block without biases (unless `attention_bias` / `mlp_bias`).
 * Every error names the file and the field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocatedError } from '../experiment/context';

export type Architecture = 'qwen2' | 'llama';

/** Rotary scaling (transformers' `rope_scaling`): `linear` divides positions by `factor`; `llama3` rescales low frequencies. */
export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface LlmConfig {
  architecture: Architecture;
  /** The `architectures[0]` string of config.json. */
  architectureName: string;
  vocabSize: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  rmsEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  maxPositions: number;
  tieEmbeddings: boolean;
  /** Bias on q/k/v projections (Qwen2: yes). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama with attention_bias). */
  oBias: boolean;
  /** Bias on gate/up/down (Llama with mlp_bias). */
  mlpBias: boolean;
  /** config.json `torch_dtype` (informational: weights are read in the dtype they are stored in). */
  torchDtype?: string;
  bosTokenId?: number;
  eosTokenId?: number | number[];
}

const SUPPORTED: Record<string, Architecture> = { Qwen2ForCausalLM: 'qwen2', LlamaForCausalLM: 'llama' };

/** Parse a config.json object; `file` is used in the errors. */
export function parseHfConfig(json: Record<string, unknown>, file: string): LlmConfig {
  const at = (field: string) => `${file}: ${field}`;
  const archs = json.architectures;
  const archName = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  const byType = json.model_type === 'qwen2' ? 'Qwen2ForCausalLM' : json.model_type === 'llama' ? 'LlamaForCausalLM' : undefined;
  const name = archName ?? byType;
  if (!name)
    throw new LocatedError('no "architectures" (and no known "model_type"): cannot tell the architecture', at('architectures'), file);
  const architecture = SUPPORTED[name];
  if (!architecture)
    throw new LocatedError(
      `architecture "${name}" is not supported (supported: ${Object.keys(SUPPORTED).join(', ')})`,
      at('architectures'),
      file,
    );
  const int = (field: string, dflt?: number): number => {
    const v = json[field] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      throw new LocatedError(`"${field}" must be a positive integer (got ${JSON.stringify(json[field])})`, at(field), file);
    return v;
  };
  const num = (field: string, dflt?: number): number => {
    const v = json[field] ?? dflt;
    if (typeof v !== 'number' || !(v > 0))
      throw new LocatedError(`"${field}" must be a positive number (got ${JSON.stringify(json[field])})`, at(field), file);
    return v;
  };
  const hidden = int('hidden_size');
  const heads = int('num_attention_heads');
  const kvHeads = int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0)
    throw new LocatedError(
      `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`,
      at('num_key_value_heads'),
      file,
    );
  const headDim = json.head_dim == null ? hidden / heads : int('head_dim');
  if (!Number.isInteger(headDim) || headDim % 2 !== 0)
    throw new LocatedError(`head dimension ${headDim} (hidden_size / num_attention_heads) must be an even integer`, at('head_dim'), file);
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu')
    throw new LocatedError(`hidden_act "${String(act)}" is not supported (SwiGLU with silu only)`, at('hidden_act'), file);
  if (json.use_sliding_window === true)
    throw new LocatedError('use_sliding_window = true is not supported (full attention only)', at('use_sliding_window'), file);
  const bool = (field: string, dflt: boolean): boolean => {
    const v = json[field] ?? dflt;
    if (typeof v !== 'boolean') throw new LocatedError(`"${field}" must be true or false`, at(field), file);
    return v;
  };
  const attentionBias = bool('attention_bias', false);
  return {
    architecture,
    architectureName: name,
    vocabSize: int('vocab_size'),
    hidden,
    intermediate: int('intermediate_size'),
    layers: int('num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    rmsEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    ropeScaling: parseRopeScaling(json.rope_scaling, at('rope_scaling'), file),
    maxPositions: int('max_position_embeddings', 32768),
    tieEmbeddings: bool('tie_word_embeddings', false), // Qwen2Config and LlamaConfig default: untied
    qkvBias: architecture === 'qwen2' ? true : attentionBias,
    oBias: architecture === 'llama' && attentionBias,
    mlpBias: architecture === 'llama' && bool('mlp_bias', false),
    torchDtype: typeof json.torch_dtype === 'string' ? json.torch_dtype : undefined,
    bosTokenId: typeof json.bos_token_id === 'number' ? json.bos_token_id : undefined,
    eosTokenId:
      typeof json.eos_token_id === 'number' || Array.isArray(json.eos_token_id) ? (json.eos_token_id as number | number[]) : undefined,
  };
}

function parseRopeScaling(v: unknown, where: string, file: string): RopeScaling {
  if (v == null) return { type: 'default' };
  if (typeof v !== 'object') throw new LocatedError('rope_scaling must be an object or null', where, file);
  const o = v as Record<string, unknown>;
  const type = (o.rope_type ?? o.type) as string | undefined;
  const factor = (): number => {
    if (typeof o.factor !== 'number' || !(o.factor > 0))
      throw new LocatedError('rope_scaling.factor must be a positive number', `${where}.factor`, file);
    return o.factor;
  };
  switch (type) {
    case undefined:
    case 'default':
      return { type: 'default' };
    case 'linear':
      return { type: 'linear', factor: factor() };
    case 'llama3': {
      const n = (k: string): number => {
        if (typeof o[k] !== 'number' || !((o[k] as number) > 0))
          throw new LocatedError(`rope_scaling.${k} must be a positive number`, `${where}.${k}`, file);
        return o[k] as number;
      };
      return {
        type: 'llama3',
        factor: factor(),
        lowFreqFactor: n('low_freq_factor'),
        highFreqFactor: n('high_freq_factor'),
        originalMaxPositions: n('original_max_position_embeddings'),
      };
    }
    default:
      throw new LocatedError(
        `rope_scaling type "${type}" is not supported (supported: default, linear, llama3)`,
        `${where}.rope_type`,
        file,
      );
  }
}

/**
 * A JSON file of a model or adapter folder, parsed; a LocatedError at the file when it is not valid JSON, or
 * (`missing` given) with that message when the file is absent.
 */
export function readFolderJson(file: string, missing?: string): unknown {
  if (missing !== undefined && !existsSync(file)) throw new LocatedError(missing, file);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LocatedError(`not valid JSON: ${(e as Error).message}`, file);
  }
}

/** Read and parse `<dir>/config.json`. */
export function readHfConfig(dir: string): LlmConfig {
  const file = join(dir, 'config.json');
  const json = readFolderJson(
    file,
    'config.json is missing from the model folder (a Hugging Face model folder needs config.json, *.safetensors, tokenizer.json, tokenizer_config.json)',
  );
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new LocatedError('config.json must hold a JSON object', file);
  return parseHfConfig(json as Record<string, unknown>, file);
}

/**
 * The tensor names (Hugging Face's, e.g. `model.layers.0.self_attn.q_proj.weight`) and shapes a model
 * of this config holds. Linear weights are [out, in] as in PyTorch.
 */
export function expectedWeights(cfg: LlmConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const D = cfg.hidden;
  const q = cfg.heads * cfg.headDim;
  const kv = cfg.kvHeads * cfg.headDim;
  m.set('model.embed_tokens.weight', [cfg.vocabSize, D]);
  for (let l = 0; l < cfg.layers; l++) {
    const p = `model.layers.${l}`;
    m.set(`${p}.input_layernorm.weight`, [D]);
    m.set(`${p}.self_attn.q_proj.weight`, [q, D]);
    m.set(`${p}.self_attn.k_proj.weight`, [kv, D]);
    m.set(`${p}.self_attn.v_proj.weight`, [kv, D]);
    if (cfg.qkvBias) {
      m.set(`${p}.self_attn.q_proj.bias`, [q]);
      m.set(`${p}.self_attn.k_proj.bias`, [kv]);
      m.set(`${p}.self_attn.v_proj.bias`, [kv]);
    }
    m.set(`${p}.self_attn.o_proj.weight`, [D, q]);
    if (cfg.oBias) m.set(`${p}.self_attn.o_proj.bias`, [D]);
    m.set(`${p}.post_attention_layernorm.weight`, [D]);
    m.set(`${p}.mlp.gate_proj.weight`, [cfg.intermediate, D]);
    m.set(`${p}.mlp.up_proj.weight`, [cfg.intermediate, D]);
    m.set(`${p}.mlp.down_proj.weight`, [D, cfg.intermediate]);
    if (cfg.mlpBias) {
      m.set(`${p}.mlp.gate_proj.bias`, [cfg.intermediate]);
      m.set(`${p}.mlp.up_proj.bias`, [cfg.intermediate]);
      m.set(`${p}.mlp.down_proj.bias`, [D]);
    }
  }
  m.set('model.norm.weight', [D]);
  if (!cfg.tieEmbeddings) m.set('lm_head.weight', [cfg.vocabSize, D]);
  return m;
}

/** Number of parameters of a config (tied embeddings counted once). */
export function parameterCount(cfg: LlmConfig): number {
  let n = 0;
  for (const s of expectedWeights(cfg).values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}

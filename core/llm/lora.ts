/**
 * LoRA adapters (Hu et al. 2021, eq. 3: h = W₀x + (α/r)·B A x, W₀ frozen) on a CausalLM's linear layers,
 * in PEFT's layout so that `PeftModel.from_pretrained(base, folder)` loads what Flowloop saves:
 * - `adapter_config.json`: `peft_type` "LORA", `task_type` "CAUSAL_LM", `r`, `lora_alpha`, `lora_dropout`,
 *   `target_modules`, `bias` "none", ... (the fields PEFT's LoraConfig writes);
 * - `adapter_model.safetensors`: `base_model.model.<module>.lora_A.weight` [r, in] and `…lora_B.weight`
 *   [out, r] per adapted module (PEFT drops the adapter name "default" when saving).
 * Targets are matched as PEFT matches a `target_modules` list: a module path equal to an entry or ending
 * in "." + entry. A starts Kaiming-uniform (bound 1/√in, PEFT's `init_lora_weights=True`), B at zero, so
 * the adapted model starts equal to the base model.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getTf } from '../tensor';
import { LocatedError } from '../experiment/context';
import { Rng } from '../util/random';
import { expectedWeights, readFolderJson, type LlmConfig } from './hfConfig';
import type { CausalLM } from './model';
import { readSafetensors, writeSafetensors, type TensorToWrite } from './safetensors';

export interface LoraSettings {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: string[];
}

/** PEFT's prefix of every saved adapter tensor (PeftModel → LoraModel → the transformers model). */
export const PEFT_PREFIX = 'base_model.model.';

export interface LinearModule {
  /** Module path, e.g. `model.layers.0.self_attn.q_proj`. */
  name: string;
  inFeatures: number;
  outFeatures: number;
}

/** The linear layers of a model config (Hugging Face module paths, [out, in] weights), in weight order; the tied head is not a separate layer. */
export function linearModules(cfg: LlmConfig): LinearModule[] {
  const out: LinearModule[] = [];
  for (const [name, shape] of expectedWeights(cfg)) {
    if (shape.length !== 2 || !name.endsWith('.weight') || name === 'model.embed_tokens.weight') continue;
    out.push({ name: name.slice(0, -'.weight'.length), outFeatures: shape[0], inFeatures: shape[1] });
  }
  return out;
}

/** PEFT's target_modules rule for a list: the module path equals an entry or ends with "." + entry. */
export function matchesTarget(module: string, targets: string[]): boolean {
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

/** PEFT tensor name of an adapter matrix. */
export function peftTensorName(module: string, which: 'A' | 'B'): string {
  return `${PEFT_PREFIX}${module}.lora_${which}.weight`;
}

/** Modules of `cfg` that `targets` selects; a located error when none does (a typo would otherwise train nothing). */
export function loraTargets(cfg: LlmConfig, targets: string[], where = 'policy.lora.targetModules'): LinearModule[] {
  const mods = linearModules(cfg).filter((m) => matchesTarget(m.name, targets));
  if (!mods.length) {
    const leaves = [...new Set(linearModules(cfg).map((m) => m.name.split('.').slice(-1)[0]))];
    throw new LocatedError(
      `no linear layer of this ${cfg.architectureName} matches ${JSON.stringify(targets)} (its layers end in: ${leaves.join(', ')})`,
      where,
    );
  }
  return mods;
}

/**
 * The adapters of one CausalLM: tf variables A [r, in], B [out, r] per target module, registered in
 * `lm.adapters` (core/llm/model.ts `linear` adds scale·dropout(x)Aᵀ Bᵀ). `names`/`weights` are the
 * TRAINABLE parameters under PEFT's names (what the optimizer and checkpoints see).
 */
export class LoraAdapters {
  readonly names: string[] = [];
  readonly weights: Record<string, TF.Variable> = {};
  readonly modules: LinearModule[];
  readonly scale: number;

  /** `init` (PEFT names → data, e.g. a saved adapter or a checkpoint) replaces the random/zero start. */
  constructor(
    readonly lm: CausalLM,
    readonly settings: LoraSettings,
    seed: number,
    init?: Map<string, Float32Array>,
  ) {
    const tf = getTf();
    if (!(settings.r >= 1)) throw new Error(`LoRA rank r must be ≥ 1, got ${settings.r}`);
    this.modules = loraTargets(lm.cfg, settings.targetModules);
    this.scale = settings.alpha / settings.r;
    const rng = new Rng(seed);
    const { r } = settings;
    for (const m of this.modules) {
      const shapes = { A: [r, m.inFeatures], B: [m.outFeatures, r] } as const;
      const vars: Partial<Record<'A' | 'B', TF.Variable>> = {};
      for (const which of ['A', 'B'] as const) {
        const name = peftTensorName(m.name, which);
        const n = shapes[which][0] * shapes[which][1];
        let data = init?.get(name);
        if (data && data.length !== n) throw new Error(`adapter tensor ${name} has ${data.length} values, [${shapes[which]}] needs ${n}`);
        if (!data) {
          data = new Float32Array(n);
          if (which === 'A') {
            const bound = 1 / Math.sqrt(m.inFeatures);
            for (let i = 0; i < n; i++) data[i] = (2 * rng.next() - 1) * bound;
          }
        }
        const v = tf.variable(tf.tensor2d(data, [...shapes[which]]), true, `${name}#${Math.random().toString(36).slice(2, 8)}`);
        this.names.push(name);
        this.weights[name] = v;
        vars[which] = v;
      }
      lm.adapters.set(m.name, {
        A: vars.A as unknown as TF.Tensor2D,
        B: vars.B as unknown as TF.Tensor2D,
        scale: this.scale,
        dropout: settings.dropout,
      });
    }
    if (init)
      for (const k of init.keys())
        if (k.startsWith(PEFT_PREFIX) && !this.weights[k])
          throw new Error(`adapter tensor ${k} matches no target module of this model (${settings.targetModules.join(', ')})`);
  }

  paramCount(): number {
    return this.names.reduce((a, n) => a + this.weights[n].size, 0);
  }

  /** PEFT's adapter_config.json for these settings. */
  adapterConfig(baseModel: string): Record<string, unknown> {
    const s = this.settings;
    return {
      alpha_pattern: {},
      auto_mapping: null,
      base_model_name_or_path: baseModel,
      bias: 'none',
      fan_in_fan_out: false,
      inference_mode: true,
      init_lora_weights: true,
      layers_pattern: null,
      layers_to_transform: null,
      lora_alpha: s.alpha,
      lora_dropout: s.dropout,
      modules_to_save: null,
      peft_type: 'LORA',
      r: s.r,
      rank_pattern: {},
      revision: null,
      target_modules: [...s.targetModules],
      task_type: 'CAUSAL_LM',
      use_dora: false,
      use_rslora: false,
    };
  }

  /** Current adapter matrices by PEFT name. */
  async snapshot(): Promise<Map<string, Float32Array>> {
    const m = new Map<string, Float32Array>();
    for (const n of this.names) m.set(n, (await this.weights[n].data()) as Float32Array);
    return m;
  }

  /** Write the PEFT adapter folder (adapter_config.json + adapter_model.safetensors, float32). */
  async save(dir: string, baseModel: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const tensors = new Map<string, TensorToWrite>();
    for (const [n, data] of await this.snapshot()) tensors.set(n, { shape: this.weights[n].shape, data });
    writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(this.adapterConfig(baseModel), null, 2) + '\n');
  }

  /** Remove the adapters from the model and free them. */
  dispose(): void {
    for (const m of this.modules) this.lm.adapters.delete(m.name);
    for (const n of this.names) this.weights[n].dispose();
  }
}

/** The fields of a PEFT `adapter_config.json` that are read or refused (everything else is kept as written). */
interface PeftAdapterConfig {
  peft_type?: unknown;
  use_dora?: unknown;
  use_rslora?: unknown;
  fan_in_fan_out?: unknown;
  bias?: unknown;
  rank_pattern?: Record<string, unknown>;
  alpha_pattern?: Record<string, unknown>;
  target_modules?: unknown;
  r?: unknown;
  lora_alpha?: unknown;
  lora_dropout?: unknown;
  [key: string]: unknown;
}

/**
 * Read a PEFT LoRA adapter folder: its settings and tensors (PEFT names → float32). Located errors for a
 * missing file, a non-LoRA or unsupported config (DoRA, rsLoRA, per-layer rank patterns, trained biases).
 */
export function readPeftAdapter(dir: string): {
  settings: LoraSettings;
  tensors: Map<string, Float32Array>;
  config: Record<string, unknown>;
} {
  const cf = join(dir, 'adapter_config.json');
  const c = readFolderJson(
    cf,
    'adapter_config.json not found (a PEFT LoRA adapter folder holds adapter_config.json + adapter_model.safetensors)',
  ) as PeftAdapterConfig;
  if (c.peft_type !== 'LORA')
    throw new LocatedError(`peft_type ${JSON.stringify(c.peft_type)}: only LORA adapters are read`, `${cf}: peft_type`);
  if (c.use_dora) throw new LocatedError('DoRA adapters (use_dora) are not supported', `${cf}: use_dora`);
  if (c.use_rslora) throw new LocatedError('rsLoRA scaling (use_rslora) is not supported', `${cf}: use_rslora`);
  if (c.rank_pattern && Object.keys(c.rank_pattern).length)
    throw new LocatedError('per-module ranks (rank_pattern) are not supported', `${cf}: rank_pattern`);
  if (c.alpha_pattern && Object.keys(c.alpha_pattern).length)
    throw new LocatedError('per-module alphas (alpha_pattern) are not supported', `${cf}: alpha_pattern`);
  if (c.fan_in_fan_out) throw new LocatedError('fan_in_fan_out adapters (Conv1D layers) are not supported', `${cf}: fan_in_fan_out`);
  if (c.bias && c.bias !== 'none')
    throw new LocatedError(`bias "${c.bias}": adapters with trained biases are not supported`, `${cf}: bias`);
  if (!Array.isArray(c.target_modules))
    throw new LocatedError(
      'target_modules must be a list of module names (a regular expression is not supported)',
      `${cf}: target_modules`,
    );
  if (!(typeof c.r === 'number' && Number.isInteger(c.r) && c.r > 0))
    throw new LocatedError(`r must be a positive integer, got ${JSON.stringify(c.r)}`, `${cf}: r`);
  const settings: LoraSettings = {
    r: c.r,
    alpha: Number(c.lora_alpha ?? 8),
    dropout: Number(c.lora_dropout ?? 0),
    targetModules: c.target_modules as string[],
  };
  const wf = join(dir, 'adapter_model.safetensors');
  if (!existsSync(wf))
    throw new LocatedError(
      `adapter_model.safetensors not found${existsSync(join(dir, 'adapter_model.bin')) ? ' (adapter_model.bin is a PyTorch pickle: save the adapter with safe_serialization=True)' : ''}`,
      wf,
    );
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of readSafetensors(wf)) {
    const m = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/.exec(name);
    if (!m)
      throw new LocatedError(
        `unexpected tensor "${name}" (expected base_model.model.<module>.lora_A.weight / lora_B.weight)`,
        `${wf}: ${name}`,
      );
    const rank = m[2] === 'A' ? t.shape[0] : t.shape[1];
    if (t.shape.length !== 2 || rank !== settings.r)
      throw new LocatedError(`tensor "${name}" has shape [${t.shape}], rank r = ${settings.r} expected`, `${wf}: ${name}`);
    tensors.set(peftTensorName(m[1], m[2] as 'A' | 'B'), t.data);
  }
  return { settings, tensors, config: c };
}

/** W + (α/r)·B A for every adapted module: the merged base weights (PEFT `merge_and_unload`), by HF weight name. */
export function mergedWeights(lora: LoraAdapters): Map<string, TF.Tensor2D> {
  const tf = getTf();
  const out = new Map<string, TF.Tensor2D>();
  for (const m of lora.modules) {
    const W = lora.lm.weights[`${m.name}.weight`];
    out.set(
      `${m.name}.weight`,
      tf.tidy(
        () =>
          tf.add(
            W,
            tf.mul(tf.matMul(lora.weights[peftTensorName(m.name, 'B')], lora.weights[peftTensorName(m.name, 'A')]), lora.scale),
          ) as TF.Tensor2D,
      ),
    );
  }
  return out;
}

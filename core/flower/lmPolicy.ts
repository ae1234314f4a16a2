/**
 * The flower kind with a pretrained Hugging Face causal LM as the policy (config `policy.model`,
 * docs/methods.md §A6b): the history is TEXT (the released prompt of the history titles, left-truncated at
 * `policy.cutoff`), the title tokens are the model's own token ids (the tree is built with the model
 * folder's tokenizer), and training is full fine-tuning or LoRA (`policy.lora`, core/llm/lora.ts) with the
 * unchanged objectives (core/flower/objective.ts via core/llm/trainable.ts). At the end the trained model
 * is saved: a PEFT adapter folder (`adapter/`) or a Hugging Face model folder (`model/`).
 */
import { join } from 'node:path';
import { LocatedError } from '../experiment/context';
import { getTf } from '../tensor';
import { checkModelFolder, loadHfModel, type HfModel } from '../llm/load';
import { loadHfTokenizer, type HfTokenizer } from '../llm/tokenizer';
import { checkMemory, estimateMemory, loraParamCount } from '../llm/memory';
import type { LlmConfig } from '../llm/hfConfig';
import { LmPolicy } from '../llm/policy';
import { LoraAdapters } from '../llm/lora';
import { LmTrainable } from '../llm/trainable';
import { promptIds, promptSettings, RELEASED_PROMPT, type PromptTemplate } from '../llm/prompt';
import { saveHfFolder } from '../llm/save';
import type { ResolvedFlowerConfig } from './defaults';
import type { FlowerSetup } from './setup';
import type { LmPolicyRecord } from '../models/policyCheckpoint';

export type { LmPolicyRecord };

/** The trained LM policy of a flower run. */
export interface FlowerLm {
  policy: LmTrainable;
  lora?: LoraAdapters;
  record: LmPolicyRecord;
  describe: string;
  /** Save the trained model into the run folder; returns the folder written. */
  save(runDir: string): Promise<string>;
  dispose(): void;
}

/** Check `policy.model` without reading weights (config.json, files, tokenizer); located errors naming the folder or file. */
export function checkPolicyModel(
  c: ResolvedFlowerConfig,
  resolvePath: (p: string) => string,
): { config: LlmConfig; tokenizer: HfTokenizer } {
  if (c.mode === 'distribution')
    throw new LocatedError('policy.model (a pretrained LM reading the history as text) needs mode "recommend"', 'config', '/policy/model');
  const dir = resolvePath(c.policy.model!);
  const config = checkModelFolder(dir);
  return { config, tokenizer: loadHfTokenizer(dir, config.vocabSize) };
}

/** Load `policy.model` (never a download); every problem is a located error naming the folder or file. */
export function loadPolicyModel(c: ResolvedFlowerConfig, resolvePath: (p: string) => string, backend: string): HfModel {
  return loadHfModel(resolvePath(c.policy.model!), backend);
}

/**
 * Memory of one training pass (core/llm/memory.ts: weights, LoRA or full-model gradients and AdamW moments,
 * activations and full-vocabulary logits of one micro-batch — a flower row re-scores its target AND its
 * sampled title, so twice the rows) checked against the backend BEFORE the weights are read: a clear,
 * located error instead of an out-of-memory crash. Returns the log line.
 */
export function trainingMemory(c: ResolvedFlowerConfig, s: FlowerSetup, cfg: LlmConfig, backend: string, configPath = 'config'): string {
  const micro = c.microBatchSize > 0 ? Math.min(c.microBatchSize, c.batchSize) : c.batchSize;
  const rows = micro * (c.objective === 'flower' && c.theta < 1 ? 2 : 1);
  const l = c.policy.lora;
  const est = estimateMemory(cfg, {
    microBatch: rows,
    seqLen: c.policy.cutoff ?? 512,
    predicted: maxDepth(s),
    training: l ? { mode: 'lora', loraParams: loraParamCount(cfg, l.r, l.targetModules) } : { mode: 'full' },
  });
  try {
    return checkMemory(
      est,
      backend,
      `training (${l ? `LoRA r=${l.r}` : 'full fine-tuning'}, ${rows} sequences of ≤ ${c.policy.cutoff ?? 512} tokens per pass)`,
    ).line;
  } catch (e) {
    throw new LocatedError((e as Error).message, configPath, c.microBatchSize > 0 ? '/microBatchSize' : '/batchSize');
  }
}

/** Longest title path of the tree (title tokens + terminal). */
function maxDepth(s: FlowerSetup): number {
  let d = 0;
  for (let v = 0; v < s.trie.size; v++) d = Math.max(d, s.trie.depth[v]);
  return d;
}

/** The prompt template and category word of a config (`policy.prompt`, released defaults; docs/methods.md §A6b). */
function resolvedPrompt(c: ResolvedFlowerConfig, s: FlowerSetup): { template: PromptTemplate; category: string } {
  try {
    return promptSettings(c.policy.prompt, s.dataset?.name ?? s.datasetName);
  } catch (e) {
    throw new LocatedError((e as Error).message, 'config', '/policy/prompt');
  }
}

/** The checkpoint record of the LM policy a config asks for (compared on resume). */
export function lmPolicyRecord(hf: HfModel, c: ResolvedFlowerConfig, s: FlowerSetup, modelDir: string): LmPolicyRecord {
  const l = c.policy.lora;
  return {
    kind: 'hf-causal-lm',
    model: modelDir,
    architecture: hf.config.architectureName,
    lora: l ? { r: l.r, alpha: l.alpha, dropout: l.dropout, targetModules: l.targetModules } : null,
    cutoff: c.policy.cutoff ?? 512,
    maxHistory: c.policy.maxHistory,
    maxTokens: maxDepth(s),
    prompt: { ...resolvedPrompt(c, s).template, category: resolvedPrompt(c, s).category },
  };
}

/**
 * The LM as a trainable Flower policy: prompts of the history titles (released template, item ids →
 * catalogue titles, oldest first), cut to their last `cutoff − longest title` tokens; LoRA adapters or all
 * base weights trainable. `init` = trainable tensors from a checkpoint (resume).
 */
export function buildFlowerLm(
  hf: HfModel,
  c: ResolvedFlowerConfig,
  s: FlowerSetup,
  modelDir: string,
  seed: number,
  init?: Map<string, Float32Array>,
): FlowerLm {
  const ds = s.dataset;
  if (!ds) throw new Error('an LM policy needs a dataset (recommend mode)');
  const { template, category } = resolvedPrompt(c, s);
  const T = maxDepth(s);
  const cutoff = c.policy.cutoff ?? 512;
  const keep = cutoff - T;
  if (keep < 1)
    throw new LocatedError(
      `policy.cutoff ${cutoff} leaves no room for a prompt: the longest title of the tree has ${T} tokens`,
      'config',
      '/policy/cutoff',
    );
  const promptOf = (history: number[]): number[] => {
    const p = promptIds(
      hf.tokenizer,
      history.map((id) => ds.catalogue.titleOf(id)),
      category,
      template,
    );
    return p.length > keep ? p.slice(p.length - keep) : p;
  };
  const lmp = new LmPolicy(hf.model, hf.tokenizer.padId);
  const record = lmPolicyRecord(hf, c, s, modelDir);
  const settings = record.lora;
  let lora: LoraAdapters | undefined;
  let params: { names: string[]; weights: LmTrainable['weights'] };
  if (settings) {
    hf.model.setTrainable('none');
    lora = new LoraAdapters(hf.model, settings, seed, init);
    params = lora;
  } else {
    hf.model.setTrainable('all');
    const names = Object.keys(hf.model.weights);
    if (init) {
      const tf = getTf();
      for (const n of names) {
        const d = init.get(n),
          v = hf.model.weights[n];
        if (!d || d.length !== v.size)
          throw new Error(`checkpoint tensor ${n}: ${d ? `${d.length} values, the model needs ${v.size}` : 'missing'}`);
        tf.tidy(() => v.assign(tf.tensor(d, v.shape, 'float32')));
      }
    }
    params = { names, weights: hf.model.weights };
  }
  const policy = new LmTrainable(lmp, s.vocab, params, promptOf, T, c.policy.maxHistory);
  const dispose = () => {
    lora?.dispose();
    hf.model.dispose();
  };
  policy.onDispose = dispose;
  const total = hf.model.paramCount();
  const describe =
    `${hf.config.architectureName} from ${modelDir}: ${total.toLocaleString('en-US')} parameters (${hf.precision}); ` +
    (lora
      ? `LoRA r=${settings!.r} alpha=${settings!.alpha} dropout=${settings!.dropout} on ${lora.modules.length} layers (${settings!.targetModules.join(', ')}): ${lora.paramCount().toLocaleString('en-US')} trainable, base frozen`
      : `full fine-tuning: ${total.toLocaleString('en-US')} trainable`) +
    `; prompts: ${sameTemplate(template) ? 'released template' : 'policy.prompt template'}, category "${category}", last ${c.policy.maxHistory} history titles, cutoff ${cutoff}`;
  return {
    policy,
    lora,
    record,
    describe,
    async save(runDir: string): Promise<string> {
      if (lora) {
        const dir = join(runDir, 'adapter');
        await lora.save(dir, modelDir);
        return dir;
      }
      const dir = join(runDir, 'model');
      await saveHfFolder(hf.model, modelDir, dir, { dtype: hf.storedDtypes.includes('BF16') ? 'BF16' : 'F32' });
      return dir;
    },
    dispose,
  };
}

function sameTemplate(t: PromptTemplate): boolean {
  return (
    t.instruction === RELEASED_PROMPT.instruction &&
    t.input === RELEASED_PROMPT.input &&
    t.historySeparator === RELEASED_PROMPT.historySeparator
  );
}

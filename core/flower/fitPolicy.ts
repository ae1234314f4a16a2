/**
 * Fitting one Flower policy (docs/methods.md §A6): the architecture from the config and the setup, the starting
 * point (fresh, `resume` from a checkpoint, or `init` from another run's weights), training with the chosen objective
 * (sft = BIGRec, flower = SubTB + θ·SFT, ifairlrs = weighted SFT), a checkpoint, a trie snapshot and a validation
 * measure after each epoch, and the best epoch's weights restored at the end (early stopping on validation NLL).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedFlowerConfig } from './defaults';
import { LocatedError, throwIfCancelled, type RunContext } from '../experiment/context';
import { TransformerPolicy, type PolicyConfig } from '../models/policy';
import type { TrainableSessionPolicy } from '../models/trainablePolicy';
import type { HfModel } from '../llm/load';
import { buildFlowerLm, lmPolicyRecord, type FlowerLm, type LmPolicyRecord } from './lmPolicy';
import { initBackend } from '../tensor';
import { packTensors, readCheckpoint, resolveCheckpoint, type CheckpointManifest } from '../models/policyCheckpoint';
import { AdamW } from './optim';
import type { PuSource } from './personalization';
import type { FlowerSetup } from './setup';
import { policySnapshot } from './snapshot';
import { initialState, train, type TrainOptions, type TrainState } from './train';
import { decodingSpecs, recommend } from './evaluate';
import { scoreRecommendations } from '../metrics';
import { exactFit } from './distribution';

/** Optimizer steps the run plans (epochs × steps per epoch): where `lrSchedule: "linear"` reaches 0. */
export function plannedSteps(c: Pick<ResolvedFlowerConfig, 'epochs' | 'batchSize' | 'stepsPerEpoch'>, trainRows: number): number {
  let perEpoch = Math.ceil(trainRows / c.batchSize);
  if (c.stepsPerEpoch > 0) perEpoch = Math.min(perEpoch, c.stepsPerEpoch);
  return c.epochs * perEpoch;
}

function trainOptions(c: ResolvedFlowerConfig, seed: number, objective: string, trainRows: number): TrainOptions {
  return {
    microBatchSize: c.microBatchSize ?? 0,
    decaySteps: c.lrSchedule === 'linear' ? plannedSteps(c, trainRows) : 0,
    gfnChildrenOnly: c.gfnChildrenOnly,
    objective: objective as TrainOptions['objective'],
    theta: c.theta,
    personalization: c.personalization?.mode ?? 'none',
    epochs: c.epochs,
    batchSize: c.batchSize,
    patience: c.patience,
    seed,
    sampleTemperature: c.sampleTemperature,
    stepsPerEpoch: c.stepsPerEpoch,
    offlineSampleProb: c.offlineSampleProb,
    gfnSampling: c.gfnSampling,
    gfnSamplesPerBatch: c.gfnSamplesPerBatch,
    lr: c.lr,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: c.weightDecay,
    warmupSteps: c.warmupSteps,
    clipNorm: c.clipNorm,
  };
}

/**
 * `init` (a run folder → its best epoch's checkpoint when metrics.json names one, else its latest; or a
 * checkpoint folder): the weights a run starts from.
 */
export function resolveInit(path: string): string {
  const metricsFile = join(path, 'metrics.json');
  if (existsSync(metricsFile)) {
    let best: unknown;
    try {
      best = JSON.parse(readFileSync(metricsFile, 'utf8')).bestEpoch;
    } catch {
      /* unreadable: latest checkpoint */
    }
    const dir = join(path, 'checkpoints', `epoch-${best}`);
    if (typeof best === 'number' && existsSync(join(dir, 'manifest.json'))) return dir;
  }
  return resolveCheckpoint(path);
}

/** Policy architecture from the config and the setup (vocabulary, items, longest title). */
function policyConfig(c: ResolvedFlowerConfig, s: FlowerSetup): PolicyConfig {
  let maxDepth = 0;
  for (let v = 0; v < s.trie.size; v++) maxDepth = Math.max(maxDepth, s.trie.depth[v]);
  const p = c.policy;
  if (p.dModel % p.heads !== 0)
    throw new LocatedError(`policy.dModel (${p.dModel}) must be a multiple of policy.heads (${p.heads})`, 'config', '/policy/heads');
  return {
    vocabSize: s.vocab.size,
    numItems: s.numItems,
    dModel: p.dModel,
    layers: p.layers,
    heads: p.heads,
    ffn: p.ffn,
    maxHistory: s.mode === 'distribution' ? 0 : p.maxHistory,
    maxTokens: maxDepth,
    dropout: p.dropout,
    padId: s.vocab.pad,
    bosId: s.vocab.bos,
  };
}

/** A policy the flower kind trains and decodes: the from-scratch transformer or a pretrained LM (core/flower/lmPolicy.ts). */
export type FlowerPolicy = TrainableSessionPolicy & {
  readonly cfg: { maxTokens: number; maxHistory: number };
  paramCount(): number;
  dispose(): void;
};

/**
 * Train one policy with `objective` (fresh, or resumed from `c.resume`); `tag` separates several fits in one run.
 * `hf` given (config `policy.model`): the policy is that pretrained LM (full fine-tuning or LoRA).
 */
export async function fitPolicy(
  ctx: RunContext<ResolvedFlowerConfig>,
  s: FlowerSetup,
  objective: string,
  tag: string,
  pu: PuSource | undefined,
  hf?: HfModel,
): Promise<{ policy: FlowerPolicy; state: TrainState; lm?: FlowerLm; initFrom?: string }> {
  const c = ctx.config;
  const tf = (await initBackend(c.device ?? 'auto')).tf;
  const modelDir = hf ? ctx.resolvePath(c.policy.model!) : '';
  const pcfg = hf ? lmPolicyRecord(hf, c, s, modelDir) : policyConfig(c, s);
  const opts = trainOptions(c, ctx.seed, objective, s.train.length);
  const start = startingPoint(ctx, s, pcfg, tag);
  const { state, resumeDir, initFrom } = start;
  const { policy, lm } = buildPolicy(ctx, s, pcfg, objective, tag, start.init, hf && { hf, modelDir });
  const optimizer = new AdamW(opts, policy.weights);
  if (start.init && !initFrom) optimizer.load(start.init, start.optimizerStep);
  const fit: Fit = { ctx, s, policy, pcfg, objective, tag, label: (x: string) => (tag ? `${tag} ${x}` : x) };
  const epochs = epochEnd(fit);
  if (state.epoch < opts.epochs && !state.stopped) {
    if (state.epoch === 0) await snapshot(fit, 'epoch 0', state.step);
    await train(
      policy,
      s.trie,
      s.vocab,
      { train: s.train, valid: s.valid },
      opts,
      {
        signal: ctx.signal,
        progress: (p, d, t, m) => ctx.progress(fit.label(p), d, t, m),
        log: ctx.log,
        pu,
        itemIdsOfTitle: s.itemIdsOfTitle,
        metric: (n, st, v, ex) => ctx.metric(n, st, v, { ...ex, series: tag || ex?.series }),
        onEpochEnd: epochs.onEpochEnd,
      },
      state,
      optimizer,
    );
  } else
    ctx.log(`training already complete in the checkpoint (epoch ${state.epoch}${state.stopped ? ', early-stopped' : ''}); evaluating only`);
  optimizer.dispose();
  throwIfCancelled(ctx.signal);
  restoreBest(fit, tf, state, epochs.best(), resumeDir);
  return { policy, state, lm, initFrom };
}

/** What the steps of one fit share: the run, the setup, the policy and its record, the objective and the fit's tag. */
interface Fit {
  ctx: RunContext<ResolvedFlowerConfig>;
  s: FlowerSetup;
  policy: FlowerPolicy;
  pcfg: PolicyConfig | LmPolicyRecord;
  objective: string;
  tag: string;
  /** A phase or checkpoint name prefixed with the fit's tag. */
  label(x: string): string;
}

/** Where a fit starts: fresh, resumed from a checkpoint (`resume`: weights, optimizer and training state) or `init` (weights only). */
interface StartingPoint {
  init?: Map<string, Float32Array>;
  state: TrainState;
  optimizerStep: number;
  resumeDir?: string;
  initFrom?: string;
}

function startingPoint(
  ctx: RunContext<ResolvedFlowerConfig>,
  s: FlowerSetup,
  pcfg: PolicyConfig | LmPolicyRecord,
  tag: string,
): StartingPoint {
  const c = ctx.config;
  if (c.resume) {
    if (tag) throw new LocatedError('"resume" cannot be combined with "compare"', ctx.configPath, '/resume');
    const resumeDir = resolveCheckpoint(ctx.resolvePath(c.resume));
    const { manifest, tensors } = readCheckpoint<TrainState>(resumeDir);
    checkSameSetup(manifest, pcfg, s, resumeDir, 'checkpoint', '/resume');
    const state = manifest.state;
    ctx.log(`resumed from ${resumeDir} (epoch ${state.epoch}, step ${state.step}, objective ${manifest.setup.objective})`);
    return { init: tensors, state, optimizerStep: manifest.optimizerStep, resumeDir };
  }
  if (c.init) {
    const dir = resolveInit(ctx.resolvePath(c.init));
    const { manifest, tensors } = readCheckpoint(dir);
    checkSameSetup(manifest, pcfg, s, dir, 'init checkpoint', '/init');
    ctx.log(`initialised from ${dir} (${manifest.setup.objective}, epoch ${manifest.epoch}); fresh optimizer, epoch 0`);
    return { init: new Map(policyNamesOf(tensors)), state: initialState(), optimizerStep: 0, initFrom: dir };
  }
  return { state: initialState(), optimizerStep: 0 };
}

/** A checkpoint to start from must hold this config's policy, trained on this dataset's tree. */
function checkSameSetup(
  manifest: CheckpointManifest,
  pcfg: PolicyConfig | LmPolicyRecord,
  s: FlowerSetup,
  dir: string,
  what: string,
  path: string,
): void {
  if (JSON.stringify(manifest.policy) !== JSON.stringify(pcfg))
    throw new LocatedError(
      `${what} policy ${JSON.stringify(manifest.policy)} does not match this config's ${JSON.stringify(pcfg)}`,
      dir,
      path,
    );
  if (manifest.setup.trieNodes !== s.trie.size || manifest.setup.dataset !== s.datasetName)
    throw new LocatedError(`${what} was trained on another dataset / tree`, dir, path);
}

/** The policy (the pretrained LM when `lm` is given, else the from-scratch transformer) from its starting weights. */
function buildPolicy(
  ctx: RunContext<ResolvedFlowerConfig>,
  s: FlowerSetup,
  pcfg: PolicyConfig | LmPolicyRecord,
  objective: string,
  tag: string,
  init: Map<string, Float32Array> | undefined,
  lm: { hf: HfModel; modelDir: string } | undefined,
): { policy: FlowerPolicy; lm?: FlowerLm } {
  const c = ctx.config;
  const theta = objective === 'flower' ? `, θ=${c.theta}` : '';
  if (lm) {
    const built = buildFlowerLm(lm.hf, c, s, lm.modelDir, ctx.seed, init);
    ctx.log(`policy: ${built.describe}; objective ${objective}${theta}`);
    return { policy: built.policy, lm: built };
  }
  const p = pcfg as PolicyConfig;
  const policy = new TransformerPolicy(p, ctx.seed, init);
  ctx.log(
    `${tag ? tag + ': ' : ''}policy ${policy.paramCount().toLocaleString('en-US')} parameters (d=${p.dModel}, layers=${p.layers}, heads=${p.heads}, history=${p.maxHistory}, max tokens=${p.maxTokens}); objective ${objective}${theta}`,
  );
  return { policy };
}

/** A trie snapshot event with the policy's probabilities (config `snapshotNodes` > 0). */
async function snapshot(fit: Fit, checkpoint: string, step: number): Promise<void> {
  const { ctx, s } = fit;
  const c = ctx.config;
  if (!(c.snapshotNodes > 0)) return;
  const histories = s.mode === 'distribution' ? [[]] : s.valid.slice(0, c.snapshotHistories).map((e) => e.history);
  const nodes = await policySnapshot(fit.policy, s.trie, s.vocab, s.tok, histories, c.snapshotNodes);
  ctx.emit({
    type: 'trie-snapshot',
    checkpoint: fit.label(checkpoint),
    step,
    dataset: s.datasetName,
    tokenizer: s.tok.name,
    totalNodes: s.trie.size,
    nodes,
  });
}

/**
 * After each epoch: keep the best epoch's weights, write the checkpoint, a trie snapshot, the validation decode
 * (recommend) or the exact fit (distribution), and the epochs so far in metrics.json.
 */
function epochEnd(fit: Fit): { onEpochEnd(st: TrainState, opt: AdamW): Promise<void>; best(): Map<string, Float32Array> | undefined } {
  const { ctx, s, policy, tag } = fit;
  const c = ctx.config;
  let best: Map<string, Float32Array> | undefined;
  const validDecodes: Record<string, unknown> = {};
  return {
    best: () => best,
    onEpochEnd: async (st, opt) => {
      const w = await policy.snapshotWeights();
      if (st.bestEpoch === st.epoch) best = w;
      if (c.checkpoints) await writeCheckpoint(fit, st, opt, w);
      await snapshot(fit, `epoch ${st.epoch}`, st.step);
      if (s.mode === 'recommend' && c.validDecodeRows > 0) await validDecode(fit, st, validDecodes);
      if (s.mode === 'distribution') await exactFitMetrics(fit, st);
      ctx.saveMetrics({ [tag ? `${tag}/epochs` : 'epochs']: st.history });
    },
  };
}

/** The epoch's checkpoint: policy weights `w` and optimizer moments, and a manifest to resume from. */
async function writeCheckpoint(fit: Fit, st: TrainState, opt: AdamW, w: Map<string, Float32Array>): Promise<void> {
  const { ctx, s, policy, tag } = fit;
  const c = ctx.config;
  const shapes = new Map(policy.names.map((n) => [n, policy.weights[n].shape]));
  const { bin, table } = packTensors(new Map([...w, ...(await opt.state())]), shapes);
  const manifest: CheckpointManifest<TrainState> = {
    format: 'flowloop-flower-checkpoint/1',
    epoch: st.epoch,
    policy: fit.pcfg,
    vocab: s.vocab.toJSON(),
    tokenizer: s.tok.name,
    titleEnd: c.titleEnd,
    optimizerStep: opt.step,
    state: st,
    tensors: table,
    setup: {
      mode: s.mode,
      dataset: s.datasetName,
      objective: fit.objective,
      tokenizer: c.tokenizer,
      titleEnd: c.titleEnd,
      trieNodes: s.trie.size,
    },
  };
  const ckDir = tag ? `checkpoints/${tag}` : 'checkpoints';
  ctx.writeArtifact(`${ckDir}/epoch-${st.epoch}/weights.bin`, bin, 'checkpoint', `policy + optimizer after epoch ${st.epoch}`);
  ctx.writeArtifact(`${ckDir}/epoch-${st.epoch}/manifest.json`, JSON.stringify(manifest, null, 1), 'checkpoint');
}

/** Recommend mode: decode the first `validDecodeRows` validation rows and score them (metrics, metrics.json `valid`). */
async function validDecode(fit: Fit, st: TrainState, validDecodes: Record<string, unknown>): Promise<void> {
  const { ctx, s, tag } = fit;
  const c = ctx.config;
  const rows = s.validRows.slice(0, c.validDecodeRows);
  const titles = await recommend(
    ctx,
    fit.policy,
    s,
    rows.map((r) => r.historyIds.slice(-fit.pcfg.maxHistory)),
    decodingSpecs(c)[0],
    fit.label('valid decode'),
  );
  const m = scoreRecommendations(
    rows.map((r, i) => ({ row: r.row, titles: titles[i] })),
    s.dataset!,
    'valid',
  ) as unknown as Record<string, number>;
  for (const k of ['ndcg@10', 'hr@10', 'dgu', 'mgu', 'entropy'])
    ctx.metric(`valid/${k}`, st.step, m[k], { epoch: st.epoch, series: tag || fit.objective });
  // the validation decode of each epoch in metrics.json (`valid.epoch-N`; `valid.best` = the epoch whose weights are kept): a θ sweep selects on these
  validDecodes[`epoch-${st.epoch}`] = m;
  ctx.saveMetrics({
    [tag ? `${tag}/valid` : 'valid']: { rows: rows.length, best: validDecodes[`epoch-${st.bestEpoch}`], ...validDecodes },
  });
  ctx.log(
    `${fit.label(`epoch ${st.epoch}`)}: valid (${rows.length} rows) NDCG@10 ${m['ndcg@10'].toFixed(4)}, HR@10 ${m['hr@10'].toFixed(4)}, DGU ${m.dgu.toFixed(3)}, MGU ${m.mgu.toFixed(3)}`,
  );
}

/** Distribution mode: the exact KL/JS of the policy's title distribution to the target, on the tree and over the full vocabulary. */
async function exactFitMetrics(fit: Fit, st: TrainState): Promise<void> {
  const { ctx, s, policy } = fit;
  const fitTree = await exactFit(policy, s.trie, s.vocab);
  const ex = { epoch: st.epoch, series: fit.tag || fit.objective };
  ctx.metric('fit/kl(target||gen)', st.step, fitTree.klTG, ex);
  ctx.metric('fit/kl(gen||target)', st.step, fitTree.klGT, ex);
  ctx.metric('fit/js', st.step, fitTree.js, ex);
  const full = await exactFit(policy, s.trie, s.vocab, 'full');
  ctx.metric('fit/full/kl(target||gen)', st.step, full.klTG, ex);
  ctx.log(
    `${fit.label(`epoch ${st.epoch}`)}: exact KL(target‖gen) ${fitTree.klTG.toFixed(4)}, KL(gen‖target) ${fitTree.klGT.toFixed(4)}, JS ${fitTree.js.toFixed(4)}; full-vocabulary chain KL(target‖gen) ${full.klTG.toFixed(4)}`,
  );
}

/**
 * The best epoch's weights back into the policy (early stopping on the validation NLL, or on θ·NLL + (1−θ)·GFN when
 * the flow term is trained): kept in memory by this fit, or read from the resumed run's checkpoints.
 */
function restoreBest(
  fit: Fit,
  tf: Awaited<ReturnType<typeof initBackend>>['tf'],
  state: TrainState,
  kept: Map<string, Float32Array> | undefined,
  resumeDir: string | undefined,
): void {
  const { ctx, s, policy } = fit;
  const c = ctx.config;
  if (!(s.valid.length && state.bestEpoch > 0 && state.bestEpoch !== state.epoch)) return;
  let best = kept;
  if (!best && resumeDir) {
    const dir = join(resumeDir, '..', `epoch-${state.bestEpoch}`);
    try {
      best = readCheckpoint(dir).tensors;
    } catch {
      ctx.log(`best checkpoint ${dir} not found: evaluating the last weights`, 'warn');
    }
  }
  if (!best) return;
  for (const n of policy.names) policy.weights[n].assign(tf.tensor(best.get(n)!, policy.weights[n].shape));
  ctx.log(
    `restored the best weights (epoch ${state.bestEpoch}, ${fit.objective === 'flower' && c.theta < 1 ? 'valid loss θ·NLL + (1−θ)·GFN' : 'valid NLL'} ${state.bestValid.toFixed(4)})`,
  );
}

/** Weights only (no optimizer moments "m/…", "v/…") of a checkpoint's tensors. */
function policyNamesOf(tensors: Map<string, Float32Array>): [string, Float32Array][] {
  return [...tensors].filter(([n]) => !n.startsWith('m/') && !n.startsWith('v/'));
}

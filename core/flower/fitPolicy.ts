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
import { buildFlowerLm, lmPolicyRecord, type FlowerLm } from './lmPolicy';
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
  const setupKey = {
    mode: s.mode,
    dataset: s.datasetName,
    objective,
    tokenizer: c.tokenizer,
    titleEnd: c.titleEnd,
    trieNodes: s.trie.size,
  };
  let init: Map<string, Float32Array> | undefined;
  let state: TrainState = initialState();
  let resumeDir: string | undefined;
  let optStep = 0;
  let initFrom: string | undefined;
  if (c.resume) {
    if (tag) throw new LocatedError('"resume" cannot be combined with "compare"', ctx.configPath, '/resume');
    resumeDir = resolveCheckpoint(ctx.resolvePath(c.resume));
    const { manifest, tensors } = readCheckpoint<TrainState>(resumeDir);
    if (JSON.stringify(manifest.policy) !== JSON.stringify(pcfg))
      throw new LocatedError(
        `checkpoint policy ${JSON.stringify(manifest.policy)} does not match this config's ${JSON.stringify(pcfg)}`,
        resumeDir,
        '/resume',
      );
    if (manifest.setup.trieNodes !== s.trie.size || manifest.setup.dataset !== s.datasetName)
      throw new LocatedError('checkpoint was trained on another dataset / tree', resumeDir, '/resume');
    init = tensors;
    state = manifest.state;
    optStep = manifest.optimizerStep;
    ctx.log(`resumed from ${resumeDir} (epoch ${state.epoch}, step ${state.step}, objective ${manifest.setup.objective})`);
  } else if (c.init) {
    const dir = resolveInit(ctx.resolvePath(c.init));
    const { manifest, tensors } = readCheckpoint(dir);
    if (JSON.stringify(manifest.policy) !== JSON.stringify(pcfg))
      throw new LocatedError(
        `init checkpoint policy ${JSON.stringify(manifest.policy)} does not match this config's ${JSON.stringify(pcfg)}`,
        dir,
        '/init',
      );
    if (manifest.setup.trieNodes !== s.trie.size || manifest.setup.dataset !== s.datasetName)
      throw new LocatedError('init checkpoint was trained on another dataset / tree', dir, '/init');
    init = new Map(policyNamesOf(tensors));
    ctx.log(`initialised from ${dir} (${manifest.setup.objective}, epoch ${manifest.epoch}); fresh optimizer, epoch 0`);
    initFrom = dir;
  }
  let policy: FlowerPolicy;
  let lm: FlowerLm | undefined;
  if (hf) {
    lm = buildFlowerLm(hf, c, s, modelDir, ctx.seed, init);
    policy = lm.policy;
    ctx.log(`policy: ${lm.describe}; objective ${objective}${objective === 'flower' ? `, θ=${c.theta}` : ''}`);
  } else {
    const p = pcfg as PolicyConfig;
    policy = new TransformerPolicy(p, ctx.seed, init);
    ctx.log(
      `${tag ? tag + ': ' : ''}policy ${policy.paramCount().toLocaleString('en-US')} parameters (d=${p.dModel}, layers=${p.layers}, heads=${p.heads}, history=${p.maxHistory}, max tokens=${p.maxTokens}); objective ${objective}${objective === 'flower' ? `, θ=${c.theta}` : ''}`,
    );
  }
  const optimizer = new AdamW(opts, policy.weights);
  if (init && !initFrom) optimizer.load(init, optStep);
  const snapHist = s.mode === 'distribution' ? [[]] : s.valid.slice(0, c.snapshotHistories).map((e) => e.history);
  const label = (x: string) => (tag ? `${tag} ${x}` : x);
  const snapshot = async (x: string) => {
    if (!(c.snapshotNodes > 0)) return;
    const nodes = await policySnapshot(policy, s.trie, s.vocab, s.tok, snapHist, c.snapshotNodes);
    ctx.emit({
      type: 'trie-snapshot',
      checkpoint: label(x),
      step: state.step,
      dataset: s.datasetName,
      tokenizer: s.tok.name,
      totalNodes: s.trie.size,
      nodes,
    });
  };
  let best: Map<string, Float32Array> | undefined;
  const validDecodes: Record<string, unknown> = {};
  const shapes = new Map(policy.names.map((n) => [n, policy.weights[n].shape]));
  const ckDir = tag ? `checkpoints/${tag}` : 'checkpoints';
  if (state.epoch < opts.epochs && !state.stopped) {
    if (state.epoch === 0) await snapshot('epoch 0');
    await train(
      policy,
      s.trie,
      s.vocab,
      { train: s.train, valid: s.valid },
      opts,
      {
        signal: ctx.signal,
        progress: (p, d, t, m) => ctx.progress(label(p), d, t, m),
        log: ctx.log,
        pu,
        itemIdsOfTitle: s.itemIdsOfTitle,
        metric: (n, st, v, ex) => ctx.metric(n, st, v, { ...ex, series: tag || ex?.series }),
        onEpochEnd: async (st, opt) => {
          const w = await policy.snapshotWeights();
          if (st.bestEpoch === st.epoch) best = w;
          if (c.checkpoints) {
            const { bin, table } = packTensors(new Map([...w, ...(await opt.state())]), shapes);
            const manifest: CheckpointManifest<TrainState> = {
              format: 'flowloop-flower-checkpoint/1',
              epoch: st.epoch,
              policy: pcfg,
              vocab: s.vocab.toJSON(),
              tokenizer: s.tok.name,
              titleEnd: c.titleEnd,
              optimizerStep: opt.step,
              state: st,
              tensors: table,
              setup: setupKey,
            };
            ctx.writeArtifact(`${ckDir}/epoch-${st.epoch}/weights.bin`, bin, 'checkpoint', `policy + optimizer after epoch ${st.epoch}`);
            ctx.writeArtifact(`${ckDir}/epoch-${st.epoch}/manifest.json`, JSON.stringify(manifest, null, 1), 'checkpoint');
          }
          await snapshot(`epoch ${st.epoch}`);
          if (s.mode === 'recommend' && c.validDecodeRows > 0) {
            const rows = s.validRows.slice(0, c.validDecodeRows);
            const titles = await recommend(
              ctx,
              policy,
              s,
              rows.map((r) => r.historyIds.slice(-pcfg.maxHistory)),
              decodingSpecs(c)[0],
              label('valid decode'),
            );
            const m = scoreRecommendations(
              rows.map((r, i) => ({ row: r.row, titles: titles[i] })),
              s.dataset!,
              'valid',
            ) as unknown as Record<string, number>;
            for (const k of ['ndcg@10', 'hr@10', 'dgu', 'mgu', 'entropy'])
              ctx.metric(`valid/${k}`, st.step, m[k], { epoch: st.epoch, series: tag || objective });
            // the validation decode of each epoch in metrics.json (`valid.epoch-N`; `valid.best` = the epoch whose weights are kept): a θ sweep selects on these
            validDecodes[`epoch-${st.epoch}`] = m;
            ctx.saveMetrics({
              [tag ? `${tag}/valid` : 'valid']: { rows: rows.length, best: validDecodes[`epoch-${st.bestEpoch}`], ...validDecodes },
            });
            ctx.log(
              `${label(`epoch ${st.epoch}`)}: valid (${rows.length} rows) NDCG@10 ${m['ndcg@10'].toFixed(4)}, HR@10 ${m['hr@10'].toFixed(4)}, DGU ${m.dgu.toFixed(3)}, MGU ${m.mgu.toFixed(3)}`,
            );
          }
          if (s.mode === 'distribution') {
            const fit = await exactFit(policy, s.trie, s.vocab);
            const ex = { epoch: st.epoch, series: tag || objective };
            ctx.metric('fit/kl(target||gen)', st.step, fit.klTG, ex);
            ctx.metric('fit/kl(gen||target)', st.step, fit.klGT, ex);
            ctx.metric('fit/js', st.step, fit.js, ex);
            const full = await exactFit(policy, s.trie, s.vocab, 'full');
            ctx.metric('fit/full/kl(target||gen)', st.step, full.klTG, ex);
            ctx.log(
              `${label(`epoch ${st.epoch}`)}: exact KL(target‖gen) ${fit.klTG.toFixed(4)}, KL(gen‖target) ${fit.klGT.toFixed(4)}, JS ${fit.js.toFixed(4)}; full-vocabulary chain KL(target‖gen) ${full.klTG.toFixed(4)}`,
            );
          }
          ctx.saveMetrics({ [tag ? `${tag}/epochs` : 'epochs']: st.history });
        },
      },
      state,
      optimizer,
    );
  } else
    ctx.log(`training already complete in the checkpoint (epoch ${state.epoch}${state.stopped ? ', early-stopped' : ''}); evaluating only`);
  optimizer.dispose();
  throwIfCancelled(ctx.signal);
  // best weights (early stopping on the validation NLL, or on θ·NLL + (1−θ)·GFN when the flow term is trained)
  if (s.valid.length && state.bestEpoch > 0 && state.bestEpoch !== state.epoch) {
    if (!best && resumeDir) {
      const dir = join(resumeDir, '..', `epoch-${state.bestEpoch}`);
      try {
        best = readCheckpoint(dir).tensors;
      } catch {
        ctx.log(`best checkpoint ${dir} not found: evaluating the last weights`, 'warn');
      }
    }
    if (best) {
      for (const n of policy.names) policy.weights[n].assign(tf.tensor(best.get(n)!, policy.weights[n].shape));
      ctx.log(
        `restored the best weights (epoch ${state.bestEpoch}, ${objective === 'flower' && c.theta < 1 ? 'valid loss θ·NLL + (1−θ)·GFN' : 'valid NLL'} ${state.bestValid.toFixed(4)})`,
      );
    }
  }
  return { policy, state, lm, initFrom };
}

/** Weights only (no optimizer moments "m/…", "v/…") of a checkpoint's tensors. */
function policyNamesOf(tensors: Map<string, Float32Array>): [string, Float32Array][] {
  return [...tensors].filter(([n]) => !n.startsWith('m/') && !n.startsWith('v/'));
}

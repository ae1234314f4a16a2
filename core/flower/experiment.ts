/**
 * The `flower` experiment kind: build the setup from the config, train the policy with
 * the chosen objective (sft = BIGRec, flower = SubTB + θ·SFT, ifairlrs = weighted SFT), checkpoint each
 * epoch, then evaluate: constrained beam search → recommendations.jsonl + metrics.json (recommend mode),
 * or the RQ1 distribution fit → KL/JS/coverage + SVG plot (distribution mode).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../experiment/runStore';
import { resolveFlowerDefaults, sasrecConfigFor, type ResolvedFlowerConfig } from './defaults';
import type { KindRunner, RunContext } from '../experiment/context';
import { kindContext, LocatedError, throwIfCancelled } from '../experiment/context';
import { TransformerPolicy, type PolicyConfig } from '../models/policy';
import type { TrainableSessionPolicy } from '../models/trainablePolicy';
import type { HfModel } from '../llm/load';
import { buildFlowerLm, checkPolicyModel, loadPolicyModel, lmPolicyRecord, trainingMemory, type FlowerLm } from './lmPolicy';
import { initBackend } from '../tensor';
import { packTensors, readCheckpoint, resolveCheckpoint, type CheckpointManifest } from '../models/policyCheckpoint';
import { AdamW } from './optim';
import { puFromScoreFile, puFromScorer, type PuSource } from './personalization';
import { setupDistribution, setupRecommend, type FlowerSetup } from './setup';
import { policySnapshot } from './snapshot';
import { initialState, train, type TrainOptions, type TrainState } from './train';
import { decodingSpecs, evaluateRecommend, recommend } from './evaluate';
import { scoreRecommendations } from '../metrics';
import { evaluateDistribution, exactFit } from './distribution';
import { measureMechanism } from './mechanism';

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

/** A scorer path: a sequential run folder (its `model/`) or a model folder. */
function scorerFolder(path: string): string {
  return existsSync(join(path, 'model', 'manifest.json')) ? join(path, 'model') : path;
}

/**
 * Train the dataset's SASRec for p_u (docs/methods.md §A5) as a nested run of the sequential kind inside this
 * run's folder (`sasrecConfigFor`); returns its folder and test metrics.
 */
async function trainSasrec(ctx: RunContext<ResolvedFlowerConfig>): Promise<{ runDir: string; metrics: Record<string, unknown> }> {
  if (!ctx.runNested)
    throw new LocatedError(
      'this run context cannot start a nested run (the SASRec that personalization needs): give personalization.scorer or personalization.scores',
      ctx.configPath,
      '/personalization',
    );
  const configObject = sasrecConfigFor({ dataset: ctx.config.dataset, seed: ctx.seed, name: ctx.config.name });
  ctx.log(
    `personalization ${ctx.config.personalization.mode}: no scorer or score file given, so this run trains the dataset's SASRec first (nested run, ${JSON.stringify(configObject)})`,
  );
  let last = 0;
  const r = await ctx.runNested({
    configObject,
    outDir: ctx.runDir,
    onEvent: (e) => {
      if (e.type === 'log') ctx.log(`sasrec: ${e.message}`, e.level);
      else if (e.type === 'progress' && Date.now() - last > 2000) {
        last = Date.now();
        ctx.progress(`sasrec ${e.phase}`, e.done, e.total, e.message);
      }
    },
  });
  if (r.status !== 'finished')
    throw new LocatedError(
      `the SASRec for personalization did not finish (${r.status}${r.error ? ': ' + r.error : ''}); its run folder: ${r.runDir}`,
      ctx.configPath,
      '/personalization',
    );
  return { runDir: r.runDir, metrics: r.metrics };
}

async function loadPu(
  ctx: RunContext<ResolvedFlowerConfig>,
  s: FlowerSetup,
  needed: boolean,
): Promise<{ pu?: PuSource; sasrec?: { runDir: string; metrics: Record<string, unknown> } }> {
  const p = ctx.config.personalization;
  if (!p || p.mode === 'none') return {};
  if (p.scores) return { pu: await puFromScoreFile(ctx.resolvePath(p.scores)) };
  let scorerPath = p.scorer ? scorerFolder(ctx.resolvePath(p.scorer)) : undefined;
  let sasrec: { runDir: string; metrics: Record<string, unknown> } | undefined;
  if (!scorerPath) {
    if (s.mode !== 'recommend')
      throw new LocatedError(
        `personalization "${p.mode}" needs "scorer" (a sequential model or run folder) or "scores" (a precomputed score file)`,
        ctx.configPath,
        '/personalization',
      );
    if (!needed) {
      ctx.log(`personalization ${p.mode}: nothing to train (no GFN term), so no SASRec is trained`);
      return {};
    }
    sasrec = await trainSasrec(ctx);
    scorerPath = join(sasrec.runDir, 'model');
  }
  const { loadScorer } = await import('../models/load');
  const scorer = await loadScorer(scorerPath, { engine: p.engine, device: ctx.config.device });
  if (scorer.numItems < s.numItems)
    ctx.log(
      `scorer ${scorer.name} knows ${scorer.numItems} items, the dataset has ids up to ${s.numItems - 1}: missing items get p_ui = 0`,
      'warn',
    );
  return { pu: puFromScorer(scorer), sasrec };
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
async function fitPolicy(
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

export const runFlowerExperiment: KindRunner = async (runCtx) => {
  const flowerCtx = kindContext(runCtx, 'flower');
  // θ (docs/methods.md §A4, per dataset) and personalization.mode (docs/methods.md §A5) defaults: resolved here, logged,
  // and written back into config.json so the run folder records the values actually used.
  const resolved = resolveFlowerDefaults(flowerCtx.config);
  const ctx = flowerCtx as RunContext<ResolvedFlowerConfig>; // resolveFlowerDefaults filled θ and personalization.mode in
  const c = ctx.config;
  writeJsonAtomic(join(ctx.runDir, 'config.json'), c);
  ctx.log(
    `θ = ${resolved.theta} (${resolved.thetaFrom}); personalization ${resolved.personalizationMode} (${resolved.personalizationFrom})`,
  );
  const backend = await initBackend(c.device ?? 'auto');
  // policy.model: folder and tokenizer checked first (cheap), the tree built with the model's tokenizer, the
  // memory of a training step estimated against the backend, and only then the weights read.
  const folder = c.policy.model ? checkPolicyModel(c, ctx.resolvePath) : undefined;
  ctx.progress('load data', 0, 1);
  const s =
    c.mode === 'distribution' ? await setupDistribution(c, ctx.resolvePath) : await setupRecommend(c, ctx.resolvePath, folder?.tokenizer);
  let hf: HfModel | undefined;
  if (folder) {
    ctx.log(trainingMemory(c, s, folder.config, backend.name, ctx.configPath));
    ctx.progress('load model', 0, 1);
    hf = loadPolicyModel(c, ctx.resolvePath, backend.name);
    ctx.log(
      `policy.model ${hf.dir}: ${hf.config.architectureName}, ${hf.precision}; the tree uses the model's tokenizer (config "tokenizer" ignored)`,
    );
  }
  ctx.setBackend({ name: backend.name, reason: hf ? `${backend.reason}; ${hf.precision}` : backend.reason });
  for (const n of s.notes) ctx.log(n);
  ctx.log(
    `${s.mode}: ${s.trie.titles.length} titles, trie ${s.trie.size} nodes, policy vocabulary ${s.vocab.size}, ${s.train.length} training / ${s.valid.length} validation examples${s.test.length ? `, ${s.test.length} test rows` : ''}`,
  );
  const objectives: string[] = s.mode === 'distribution' && c.compare?.length ? c.compare : [c.objective];
  const gfnTrains = objectives.includes('flower') && c.theta < 1 && c.epochs > 0;
  const { pu, sasrec } = objectives.includes('flower') ? await loadPu(ctx, s, gfnTrains) : {};
  if (pu) ctx.log(`personalization ${c.personalization.mode}: p_u from ${pu.description}`);
  const base: Record<string, unknown> = {
    mode: s.mode,
    dataset: s.datasetName,
    trainExamples: s.train.length,
    personalization: pu ? c.personalization.mode : 'none',
    personalizationFrom: resolved.personalizationFrom,
    scorer: pu?.description,
  };
  if (sasrec) {
    base.sasrecRun = sasrec.runDir;
    // the nested SASRec's test row (docs/methods.md §A8 baseline) as flat "sasrec/<metric>" keys, like the alsoDecode rows
    for (const [k, v] of Object.entries(sasrec.metrics))
      if (typeof v === 'number' && /^(test\/|dgu|mgu|entropy|ttr|distinct)/.test(k)) base[`sasrec/${k.replace(/^test\//, '')}`] = v;
  }
  const fitted: { objective: string; policy: FlowerPolicy; state: TrainState; lm?: FlowerLm }[] = [];
  for (const objective of objectives) {
    const tag = objectives.length > 1 ? objective : '';
    const { policy, state, lm, initFrom } = await fitPolicy(ctx, s, objective, tag, pu, hf);
    if (lm) {
      const dir = await lm.save(ctx.runDir);
      ctx.log(
        lm.lora
          ? `saved the LoRA adapter (PEFT layout: adapter_config.json + adapter_model.safetensors) to ${dir}`
          : `saved the fine-tuned model (Hugging Face layout) to ${dir}`,
      );
    }
    const p = tag ? `${tag}/` : '';
    if (initFrom) base[`${p}init`] = initFrom;
    Object.assign(base, {
      [`${p}objective`]: objective,
      [`${p}theta`]: objective === 'flower' ? c.theta : undefined,
      [`${p}epochsTrained`]: state.epoch,
      [`${p}bestEpoch`]: state.bestEpoch,
      [`${p}bestValidNll`]: Number.isFinite(state.bestValid) ? state.bestValid : undefined,
      parameters: policy.paramCount(),
    });
    ctx.saveMetrics(base);
    fitted.push({ objective, policy, state, lm });
  }
  const result = s.mode === 'distribution' ? await evaluateDistribution(ctx, fitted, s) : await evaluateRecommend(ctx, fitted[0].policy, s);
  if (s.mode === 'recommend' && c.mechanismRows > 0 && s.test.length) {
    const t0 = Date.now();
    const H = fitted[0].policy.cfg.maxHistory;
    const recs = readFileSync(join(ctx.runDir, 'recommendations.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { row: number; titles: string[] });
    const mech = await measureMechanism({
      policy: fitted[0].policy,
      trie: s.trie,
      vocab: s.vocab,
      dataset: s.dataset!,
      trainHistories: s.train.map((e) => e.history),
      sampleRows: c.mechanismRows,
      testRows: s.test.map((r) => ({ row: r.row, history: r.historyIds.slice(-H) })),
      lists: recs.map((r) => r.titles),
      mode: c.personalization?.mode ?? 'none',
      pu,
      idsOfTitle: s.itemIdsOfTitle,
      seed: ctx.seed,
    });
    result.mechanism = mech;
    ctx.saveMetrics({ ...base, ...result });
    const f = (x: number) => x.toFixed(3);
    ctx.log(
      `mechanism (${((Date.now() - t0) / 1000).toFixed(1)} s): sampled on ${mech.sampled.rows} training histories DGU ${f(mech.sampled.dgu)} MGU ${f(mech.sampled.mgu)}, ${mech.sampled.distinct} distinct, on-tree mass ${f(mech.sampled.onTreeMass)}; ` +
        `reward target's top-10 (${mech.oracle.personalization}) NDCG@10 ${mech.oracle['ndcg@10'].toFixed(4)} DGU ${f(mech.oracle.dgu)} MGU ${f(mech.oracle.mgu)} Jaccard ${f(mech.oracle['jaccard@10'])}; decoded top-10 Jaccard ${f(mech['jaccard@10'])}`,
    );
  }
  for (const f of fitted) f.policy.dispose();
  return { ...base, ...result };
};

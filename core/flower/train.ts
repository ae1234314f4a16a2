/**
 * The Flower training loop (docs/methods.md §A4–A6, A8): per batch, sample one title per row from the policy
 * restricted to the trie without gradients (flower objective), re-score sampled titles (without dropout,
 * as sampled) and target titles (with dropout) with gradients, L = θ·L_SFT + (1−θ)·L_GFN, AdamW step; the
 * gradient norm of each weighted term is logged. Per epoch: the validation loss of the objective (NLL;
 * for flower θ·NLL + (1−θ)·SubTB on titles sampled on the validation histories, the reference's combined
 * eval loss), early stopping on it, checkpoint hook. Every random choice comes from an Rng derived from (seed, epoch), so a run
 * resumed from an epoch checkpoint repeats the unbroken run.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { PrefixTree } from '../trie';
import type { PolicyVocab } from '../tokenize/policyVocab';
import type { TrainablePolicy } from '../models/trainablePolicy';
import { getTf } from '../tensor';
import { sampleTitles } from '../decode';
import { Rng } from '../util/random';
import { throwIfCancelled, yieldIfDue } from '../experiment/context';
import { gfnSampleFromTitle, objective, type GfnSample } from './objective';
import { accumulatedGrads, type AccumulatedStep } from './accumulate';
import { sampleUnconstrained } from './explore';
import { AdamW, gradNorm, type AdamOptions } from './optim';
import { personalizationScale, puStats, type PersonalizationMode, type PuSource } from './personalization';

export type Objective = 'sft' | 'flower' | 'ifairlrs';

/** One training (or validation) example. */
export interface Example {
  /** Row in its split (for score files / logs). */
  row: number;
  /** History item ids (dataset id space), oldest first; [] without history. */
  history: number[];
  /** Target title index in the trie; -1 when the row has no SFT target (pure GFN fitting). */
  target: number;
  /** IFairLRS per-sample weight (docs/methods.md §A8); 1 otherwise. */
  weight: number;
}

export interface TrainOptions extends AdamOptions {
  objective: Objective;
  theta: number;
  personalization: PersonalizationMode;
  epochs: number;
  batchSize: number;
  patience: number;
  seed: number;
  sampleTemperature: number;
  /** Stop an epoch after this many steps (0 = whole epoch); for quick runs and the demo. */
  stepsPerEpoch: number;
  /**
   * Probability that a batch's GFN titles are drawn off-policy from the tree (weights ∝ token length, the
   * reference RQ1 "buffer") instead of from the policy. SubTB holds for any sampling distribution, so
   * this changes exploration, not the objective. 0 = always on-policy (docs/methods.md §A4).
   */
  offlineSampleProb: number;
  /**
   * `constrained` (docs/methods.md §A4, the with-history reference): samples restricted to the trie.
   * `unconstrained` (the reference's RQ1 training): full-vocabulary samples; tokens off the tree get
   * ℓ* = −15, so sub-trajectory balance also drives the policy's mass off invalid tokens.
   */
  gfnSampling: 'constrained' | 'unconstrained';
  /** GFN samples per batch: the first n rows of each batch get a sampled title (0 = every row). */
  gfnSamplesPerBatch: number;
  /** GFN log π normalised over the tree's children + terminal (ObjectiveOptions.gfnChildrenOnly). */
  gfnChildrenOnly?: boolean;
  /** Rows per forward/backward pass; gradients of the micro-batches are accumulated into one step of `batchSize` rows (core/flower/accumulate.ts). 0 / absent = the whole batch. */
  microBatchSize?: number;
}

export interface TrainHooks {
  signal: AbortSignal;
  metric(name: string, step: number, value: number, extra?: { series?: string; epoch?: number }): void;
  progress(phase: string, done: number, total: number, message?: string): void;
  log(message: string, level?: 'info' | 'warn' | 'error'): void;
  /** After each epoch (validation done): write a checkpoint, emit a trie snapshot... */
  onEpochEnd?(state: TrainState, optimizer: AdamW): Promise<void>;
  /** p_u source for personalization (docs/methods.md §A5). */
  pu?: PuSource;
  /** Item ids of a trie title (p_ui = Σ p_u over the ids sharing that title). */
  itemIdsOfTitle?(titleIndex: number): number[];
}

export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  step: number;
  bestValid: number;
  bestEpoch: number;
  badEpochs: number;
  stopped: boolean;
  /** Per epoch; `validLoss` is the early-stopping quantity (= validNll for sft/ifairlrs). */
  history: { epoch: number; validNll: number; validLoss?: number; validGfn?: number; trainLoss: number; seconds: number }[];
}

export function initialState(): TrainState {
  return { epoch: 0, step: 0, bestValid: Infinity, bestEpoch: 0, badEpochs: 0, stopped: false, history: [] };
}

/** Seeded Rng of one epoch (independent of earlier epochs, so resume repeats the run). */
export function epochRng(seed: number, epoch: number): Rng {
  return new Rng((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
}

/**
 * Mean of a per-batch loss over `examples` in batches of `batchSize`, each batch weighted by what `term` says it
 * counts (tokens, rows); `term` returns undefined for a batch with nothing to count. NaN when nothing counted.
 */
async function batchedMean(
  examples: Example[],
  batchSize: number,
  term: (batch: Example[]) => Promise<{ value: number; weight: number } | undefined>,
): Promise<number> {
  let sum = 0,
    weight = 0;
  for (let s = 0; s < examples.length; s += batchSize) {
    const t = await term(examples.slice(s, s + batchSize));
    if (!t) continue;
    sum += t.value * t.weight;
    weight += t.weight;
  }
  return weight ? sum / weight : NaN;
}

/** Validation NLL (token-mean, docs/methods.md §A6 SFT loss) of examples, no gradients. */
export async function validationNll(
  policy: TrainablePolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  examples: Example[],
  batchSize: number,
): Promise<number> {
  return batchedMean(examples, batchSize, async (batch) => {
    const ex = batch.filter((e) => e.target >= 0);
    if (!ex.length) return undefined;
    return { value: lossValue(policy, trie, vocab, ex), weight: ex.reduce((a, e) => a + trie.path(e.target).length, 0) };
  });
}

/**
 * One loss term of `rows` without gradients: the SFT loss of their targets, or (`gfn` given) the GFN loss of the
 * sampled titles `gfn.samples`, one per row.
 */
function lossValue(
  policy: TrainablePolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  rows: Example[],
  gfn?: { samples: GfnSample[]; personalization: PersonalizationMode; gfnChildrenOnly?: boolean },
): number {
  const histories = rows.map((e) => e.history);
  return getTf().tidy(() => {
    const o = objective(
      policy,
      trie,
      vocab,
      gfn ? { histories, targets: rows.map(() => -1), samples: gfn.samples } : { histories, targets: rows.map((e) => e.target) },
      gfn
        ? { theta: 0, personalization: gfn.personalization, gfnChildrenOnly: gfn.gfnChildrenOnly }
        : { theta: 1, personalization: 'none' },
    );
    return (gfn ? o.gfn! : o.sft!).dataSync()[0];
  });
}

/**
 * The validation loss early stopping watches: the NLL, and for the flower objective (θ < 1)
 * θ·NLL + (1−θ)·L_GFN with L_GFN the SubTB loss of one title sampled from the policy per validation
 * history (personalised like training), the Hugging Face eval loss of the reference's trainer (its
 * compute_loss in eval mode). The samples come from a fixed per-run generator, so epochs differ only by
 * the policy.
 */
export async function validationLoss(
  policy: TrainablePolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  examples: Example[],
  opts: TrainOptions,
  hooks: Pick<TrainHooks, 'pu' | 'itemIdsOfTitle'>,
  batchSize = 128,
): Promise<{ nll: number; gfn?: number; loss: number }> {
  const nll = await validationNll(policy, trie, vocab, examples, batchSize);
  if (opts.objective !== 'flower' || opts.theta >= 1 || !examples.length) return { nll, loss: nll };
  const rng = new Rng((opts.seed ^ 0x7a11d) >>> 0);
  const vopts: TrainOptions = { ...opts, offlineSampleProb: 0, gfnSampling: 'constrained' };
  const validHooks = hooks.pu && !hooks.pu.byHistory ? { ...hooks, pu: undefined } : hooks;
  if (validHooks !== hooks && opts.personalization !== 'none') vopts.personalization = 'none';
  const gfn = await batchedMean(examples, batchSize, async (ex) => {
    const samples = await gfnSamples(policy, trie, vocab, ex, vopts, validHooks as TrainHooks, rng);
    const value = lossValue(policy, trie, vocab, ex, {
      samples,
      personalization: vopts.personalization,
      gfnChildrenOnly: opts.gfnChildrenOnly,
    });
    return { value, weight: ex.length };
  });
  return { nll, gfn, loss: opts.theta * nll + (1 - opts.theta) * gfn };
}

/** GFN samples for a batch: one title per row from the policy (no gradient), with s_ui when personalised. */
async function gfnSamples(
  policy: TrainablePolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  batch: Example[],
  opts: TrainOptions,
  hooks: TrainHooks,
  rng: Rng,
): Promise<GfnSample[]> {
  const histories = batch.map((e) => e.history);
  const titles = new Array<number>(batch.length).fill(-1);
  const free = new Map<number, GfnSample>();
  if (opts.offlineSampleProb > 0 && rng.next() < opts.offlineSampleProb) {
    const w = offlineWeights(trie);
    for (let b = 0; b < batch.length; b++) titles[b] = w.titles[rng.categorical(w.weights)];
  } else if (opts.gfnSampling === 'unconstrained') {
    const sampled = await sampleUnconstrained(policy, trie, vocab, histories, {
      temperature: opts.sampleTemperature,
      rng,
      maxTokens: policy.cfg.maxTokens - 1,
    });
    sampled.forEach((x, b) => {
      if (x.titleIndex >= 0) titles[b] = x.titleIndex;
      else free.set(b, x);
    });
  } else {
    // with micro-batches, sample micro-batch by micro-batch too (a pretrained LM's prompt cache for the whole batch may not fit)
    const step = opts.microBatchSize && opts.microBatchSize > 0 ? opts.microBatchSize : histories.length;
    for (let lo = 0; lo < histories.length; lo += step) {
      const sampled = await sampleTitles(policy, trie, vocab, histories.slice(lo, lo + step), { temperature: opts.sampleTemperature, rng });
      for (const x of sampled) titles[lo + x.row] = x.titleIndex;
    }
  }
  if (titles.some((t, b) => t < 0 && !free.has(b))) throw new Error('sampling returned no title for a row (trie deeper than maxTokens?)');
  const scales: (number | undefined)[] = titles.map(() => undefined);
  if (opts.personalization !== 'none') {
    if (!hooks.pu || !hooks.itemIdsOfTitle) throw new Error(`personalization "${opts.personalization}" needs a scorer or a score file`);
    const pus = await hooks.pu.pu(
      batch.map((e) => e.row),
      histories,
    );
    titles.forEach((t, b) => {
      if (t < 0) return;
      const pu = pus[b];
      let pui = 0;
      for (const id of hooks.itemIdsOfTitle!(t)) pui += pu[id] ?? 0;
      scales[b] = personalizationScale(opts.personalization as 'div' | 'add_logs', pui, puStats(pu));
    });
  }
  return titles.map((t, b) => free.get(b) ?? gfnSampleFromTitle(trie, vocab, t, opts.personalization, scales[b]));
}

const offlineCache = new WeakMap<PrefixTree, { titles: number[]; weights: number[] }>();
/** Off-policy GFN titles: every distinct title of the tree, weight ∝ its token count (reference RQ1 buffer). */
function offlineWeights(trie: PrefixTree): { titles: number[]; weights: number[] } {
  let w = offlineCache.get(trie);
  if (!w) {
    w = { titles: [], weights: [] };
    for (let v = 0; v < trie.size; v++)
      if (trie.titleOf[v] >= 0) {
        w.titles.push(trie.titleOf[v]);
        w.weights.push(trie.depth[v]);
      }
    offlineCache.set(trie, w);
  }
  return w;
}

/** What every step of a training run shares: the policy and its data structures, the options, hooks and optimizer. */
interface TrainRun {
  policy: TrainablePolicy;
  trie: PrefixTree;
  vocab: PolicyVocab;
  opts: TrainOptions;
  hooks: TrainHooks;
  optimizer: AdamW;
  /** The policy's variables in `policy.names` order, and each variable's name → the policy's name of it. */
  varList: TF.Variable[];
  nameOf: Map<string, string>;
}

/** The losses, learning rate and gradient norms of one optimizer step (NaN: the term was not trained). */
interface StepResult {
  sft: number;
  gfn: number;
  total: number;
  lr: number;
  gradNorm: number;
  /** Each term's gradient norm, when both terms are trained. */
  termNorms?: { sft: number; gfn: number };
  onTree: number;
}

/**
 * Train `policy` in place from `state` (fresh or restored) until `opts.epochs` or early stopping.
 * Returns the final state; the caller restores the best weights if it wants them.
 */
export async function train(
  policy: TrainablePolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  data: { train: Example[]; valid: Example[] },
  opts: TrainOptions,
  hooks: TrainHooks,
  state: TrainState,
  optimizer: AdamW,
): Promise<TrainState> {
  const run: TrainRun = {
    policy,
    trie,
    vocab,
    opts,
    hooks,
    optimizer,
    varList: policy.names.map((n) => policy.weights[n]),
    nameOf: new Map(policy.names.map((n) => [policy.weights[n].name, n])),
  };
  while (state.epoch < opts.epochs && !state.stopped) {
    const epoch = state.epoch + 1;
    const t0 = Date.now();
    const trainLoss = await trainEpoch(run, data.train, state, epoch);
    state.epoch = epoch;
    const v = data.valid.length
      ? await validationLoss(policy, trie, vocab, data.valid, opts, hooks, opts.microBatchSize || 128)
      : undefined;
    endEpoch(run, state, epoch, trainLoss, v, (Date.now() - t0) / 1000);
    await hooks.onEpochEnd?.(state, optimizer);
  }
  return state;
}

/** One epoch of optimizer steps over the shuffled training rows; returns the mean training loss. */
async function trainEpoch(run: TrainRun, rows: Example[], state: TrainState, epoch: number): Promise<number> {
  const { opts, hooks } = run;
  const B = opts.batchSize;
  const rng = epochRng(opts.seed, epoch);
  const order = rng.shuffle(rows.map((_, i) => i));
  let steps = Math.ceil(order.length / B);
  if (opts.stepsPerEpoch > 0) steps = Math.min(steps, opts.stepsPerEpoch);
  let lossSum = 0;
  for (let s = 0; s < steps; s++) {
    throwIfCancelled(hooks.signal);
    const r = await trainStep(
      run,
      order.slice(s * B, (s + 1) * B).map((i) => rows[i]),
      rng,
    );
    if (!Number.isFinite(r.total)) throw new Error(`training diverged at epoch ${epoch} step ${s + 1}: loss ${r.total}`);
    state.step++;
    lossSum += r.total;
    logStep(run, state.step, epoch, r);
    hooks.progress(`train epoch ${epoch}/${opts.epochs}`, s + 1, steps, `loss ${r.total.toFixed(4)}`);
    // let the event loop breathe (cancel signals, IPC): time-based, so short epochs yield too
    await yieldIfDue(hooks.signal);
  }
  return lossSum / steps;
}

/**
 * One optimizer step on `batch`: GFN titles sampled for its first rows (flower objective), each term's gradient
 * on its own (SFT rows with dropout, GFN rows without, each over its micro-batches, core/flower/accumulate.ts),
 * their sum θ·∇L_SFT + (1−θ)·∇L_GFN applied by AdamW.
 */
async function trainStep(run: TrainRun, batch: Example[], rng: Rng): Promise<StepResult> {
  const tf = getTf();
  const { policy, trie, vocab, opts, hooks, optimizer } = run;
  const useGfn = opts.objective === 'flower' && opts.theta < 1;
  const gfnBatch = opts.gfnSamplesPerBatch > 0 ? batch.slice(0, opts.gfnSamplesPerBatch) : batch;
  const samples = useGfn ? await gfnSamples(policy, trie, vocab, gfnBatch, opts, hooks, rng) : undefined;
  const dropoutSeed = rng.int(0x7fffffff);
  const theta = opts.objective === 'flower' ? opts.theta : 1;
  const withSft = !(opts.objective === 'flower' && opts.theta === 0);
  const sftStep = withSft ? sftGrads(run, batch, theta, dropoutSeed) : undefined;
  const gfn = samples ? gfnGrads(run, gfnBatch, samples, theta) : undefined;
  const gfnStep = gfn?.step;
  const normS = sftStep ? gradNorm(sftStep.grads) : NaN;
  const normG = gfnStep ? gradNorm(gfnStep.grads) : NaN;
  let grads: Record<string, TF.Tensor>;
  if (sftStep && gfnStep) {
    grads = {};
    for (const k of Object.keys(sftStep.grads))
      grads[k] = gfnStep.grads[k] ? tf.add(sftStep.grads[k], gfnStep.grads[k]) : sftStep.grads[k].clone();
    tf.dispose([...Object.values(sftStep.grads), ...Object.values(gfnStep.grads)]);
  } else grads = (sftStep ?? gfnStep)!.grads;
  const named: Record<string, TF.Tensor> = {};
  for (const [k, g] of Object.entries(grads)) named[run.nameOf.get(k) ?? k] = g;
  const lr = optimizer.currentLr();
  const gradNormTotal = optimizer.apply(named);
  tf.dispose(Object.values(grads));
  const sft = sftStep?.sft ?? NaN,
    gfnLoss = gfnStep?.gfn ?? NaN;
  return {
    sft,
    gfn: gfnLoss,
    total: (sftStep ? theta * sft : 0) + (gfnStep ? (1 - theta) * gfnLoss : 0),
    lr,
    gradNorm: gradNormTotal,
    termNorms: sftStep && gfnStep ? { sft: normS, gfn: normG } : undefined,
    onTree: gfn?.onTree ?? NaN,
  };
}

/** θ·∇L_SFT over the batch's micro-batches (IFairLRS: per-row weights), dropout seeded per micro-batch. */
function sftGrads(run: TrainRun, batch: Example[], theta: number, dropoutSeed: number): AccumulatedStep {
  const tf = getTf();
  const { policy, trie, vocab, opts } = run;
  return accumulatedGrads(run.varList, batch.length, opts.microBatchSize ?? 0, (lo, hi, m) => {
    const rows = batch.slice(lo, hi);
    const o = objective(
      policy,
      trie,
      vocab,
      {
        histories: rows.map((e) => e.history),
        targets: rows.map((e) => e.target),
        weights: opts.objective === 'ifairlrs' ? rows.map((e) => e.weight) : undefined,
      },
      { theta: 1, personalization: 'none' },
      dropoutSeed + m,
    );
    return { total: theta === 1 ? o.sft! : (tf.mul(o.sft!, theta) as TF.Scalar), sft: o.sft, gfn: null };
  });
}

/** (1−θ)·∇L_GFN of the sampled titles over the micro-batches, and the policy's mean on-tree mass of their rows. */
function gfnGrads(run: TrainRun, rows: Example[], samples: GfnSample[], theta: number): { step: AccumulatedStep; onTree: number } {
  const tf = getTf();
  const { policy, trie, vocab, opts } = run;
  let onTreeSum = 0,
    onTreeN = 0;
  const step = accumulatedGrads(run.varList, rows.length, opts.microBatchSize ?? 0, (lo, hi) => {
    const part = rows.slice(lo, hi);
    const o = objective(
      policy,
      trie,
      vocab,
      { histories: part.map((e) => e.history), targets: part.map(() => -1), samples: samples.slice(lo, hi) },
      { theta: 0, personalization: opts.personalization, gfnChildrenOnly: opts.gfnChildrenOnly },
    );
    onTreeSum += o.onTreeMass!.dataSync()[0] * (hi - lo);
    onTreeN += hi - lo;
    return { total: tf.mul(o.gfn!, 1 - theta) as TF.Scalar, sft: null, gfn: o.gfn };
  });
  return { step, onTree: onTreeN ? onTreeSum / onTreeN : NaN };
}

/** The step's training metrics. */
function logStep(run: TrainRun, step: number, epoch: number, r: StepResult): void {
  const { hooks, opts } = run;
  const ex = { epoch, series: opts.objective };
  if (!Number.isNaN(r.sft)) hooks.metric('train/sft', step, r.sft, ex);
  if (!Number.isNaN(r.gfn)) hooks.metric('train/gfn', step, r.gfn, ex);
  hooks.metric('train/total', step, r.total, ex);
  hooks.metric('train/lr', step, r.lr, ex);
  hooks.metric('train/grad_norm', step, r.gradNorm, ex);
  if (r.termNorms) {
    hooks.metric('train/grad_norm_sft', step, r.termNorms.sft, ex);
    hooks.metric('train/grad_norm_gfn', step, r.termNorms.gfn, ex);
  }
  if (!Number.isNaN(r.onTree)) hooks.metric('train/on_tree_mass', step, r.onTree, ex);
}

/** After an epoch's validation: its history entry, the validation metrics, early stopping and the epoch's log line. */
function endEpoch(
  run: TrainRun,
  state: TrainState,
  epoch: number,
  trainLoss: number,
  v: { nll: number; gfn?: number; loss: number } | undefined,
  seconds: number,
): void {
  const { hooks, opts, optimizer } = run;
  const validNll = v?.nll ?? NaN;
  const validLoss = v?.loss ?? NaN;
  state.history.push({
    epoch,
    validNll,
    ...(v?.gfn !== undefined ? { validLoss, validGfn: v.gfn } : { validLoss }),
    trainLoss,
    seconds,
  });
  if (!Number.isNaN(validLoss)) {
    hooks.metric('valid/nll', state.step, validNll, { epoch, series: opts.objective });
    if (v?.gfn !== undefined) {
      hooks.metric('valid/gfn', state.step, v.gfn, { epoch, series: opts.objective });
      hooks.metric('valid/loss', state.step, validLoss, { epoch, series: opts.objective });
    }
    earlyStopping(run, state, epoch, validLoss, v?.gfn !== undefined ? 'valid loss θ·NLL + (1−θ)·GFN' : 'valid NLL');
  } else {
    state.bestEpoch = epoch;
  }
  hooks.log(
    `epoch ${epoch}: train loss ${trainLoss.toFixed(4)}, valid NLL ${Number.isNaN(validNll) ? '—' : validNll.toFixed(4)}${v?.gfn !== undefined ? `, valid GFN ${v.gfn.toFixed(4)}, valid loss ${validLoss.toFixed(4)}` : ''}, lr ${optimizer.currentLr().toExponential(2)}, ${seconds.toFixed(1)} s`,
  );
}

/** The best epoch so far (validation loss down by more than 1e-6), or one more epoch without progress: stop after `patience` of them. */
function earlyStopping(run: TrainRun, state: TrainState, epoch: number, validLoss: number, what: string): void {
  if (validLoss < state.bestValid - 1e-6) {
    state.bestValid = validLoss;
    state.bestEpoch = epoch;
    state.badEpochs = 0;
    return;
  }
  state.badEpochs++;
  if (run.opts.patience > 0 && state.badEpochs >= run.opts.patience) {
    state.stopped = true;
    run.hooks.log(
      `early stopping after epoch ${epoch}: ${what} did not improve for ${state.badEpochs} epoch(s) (best ${state.bestValid.toFixed(4)} at epoch ${state.bestEpoch})`,
    );
  }
}

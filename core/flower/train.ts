/**
 * The Flower training loop (docs/methods.md §A4–A6, A8): per batch, sample one title per row from the policy
 * restricted to the trie without gradients (flower objective), re-score sampled titles (without dropout,
 * as sampled) and target titles (with dropout) with gradients, L = θ·L_SFT + (1−θ)·L_GFN, AdamW step; the
 * gradient norm of each weighted term is logged. Per epoch: the validation loss of the objective (NLL;
 * for flower θ·NLL + (1−θ)·SubTB on titles sampled on the validation histories, the reference's combined
 * eval loss; core/flower/validation.ts), early stopping on it, checkpoint hook. Every random choice comes from an
 * Rng derived from (seed, epoch), so a run resumed from an epoch checkpoint repeats the unbroken run. The GFN titles
 * come from core/flower/gfnSamples.ts; the options and hooks are core/flower/trainOptions.ts.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { PrefixTree } from '../trie';
import type { PolicyVocab } from '../tokenize/policyVocab';
import type { TrainablePolicy } from '../models/trainablePolicy';
import { getTf } from '../tensor';
import { Rng } from '../util/random';
import { throwIfCancelled, yieldIfDue } from '../experiment/context';
import { objective, type GfnSample } from './objective';
import { accumulatedGrads, type AccumulatedStep } from './accumulate';
import { AdamW, gradNorm } from './optim';
import { gfnSamples } from './gfnSamples';
import { validationLoss } from './validation';
import type { Example, TrainHooks, TrainOptions, TrainState } from './trainOptions';

export type { Example, Objective, TrainHooks, TrainOptions, TrainState } from './trainOptions';

export function initialState(): TrainState {
  return { epoch: 0, step: 0, bestValid: Infinity, bestEpoch: 0, badEpochs: 0, stopped: false, history: [] };
}

/** Seeded Rng of one epoch (independent of earlier epochs, so resume repeats the run). */
export function epochRng(seed: number, epoch: number): Rng {
  return new Rng((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
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

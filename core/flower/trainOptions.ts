/**
 * What a Flower training run is given (docs/methods.md §A4–A6, A8): the objective, the examples (history → target
 * title), the options of the loop and its optimizer, and the hooks through which the run reports and reads scores.
 * The loop is core/flower/train.ts; validation core/flower/validation.ts; the GFN samples core/flower/gfnSamples.ts.
 */
import type { AdamOptions, AdamW } from './optim';
import type { PersonalizationMode, PuSource } from './personalization';

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

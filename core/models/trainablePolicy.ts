/**
 * What the Flower objective and training loop need from a policy (docs/methods.md §A4–A6), whichever model
 * it is: the from-scratch item-id transformer (core/models/policy.ts) or a pretrained Hugging Face causal
 * LM reading the history as text (core/llm), fully fine-tuned or through LoRA adapters. The objective
 * (trie, flows, SubTB over full-vocabulary log π, θ mixing, personalization) only calls these members.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { SessionPolicy, StepPolicy } from '../decode';

export interface TrainablePolicy extends StepPolicy {
  /** `maxTokens`: longest token row incl. the start state (unconstrained GFN sampling stops there). */
  readonly cfg: { readonly maxTokens: number };
  /** Names of the TRAINABLE parameters (LoRA: the adapters only; base weights frozen), fixed order. */
  readonly names: string[];
  /** Trainable parameters by name (what the optimizer updates and checkpoints store). */
  readonly weights: Record<string, TF.Variable>;
  /**
   * Full-vocabulary log π read at chosen tokens (docs/methods.md §A4): lp[b*T+t, k] =
   * log π(labels[(b*T+t)*K+k] | history, rows[b][0..t-1]), rows and labels in POLICY ids, T = longest
   * row + 1, `labels(T)` built once T is known; a label outside the vocabulary gives 0 and no gradient.
   * `dropoutSeed` given = training mode. Call inside a tidy / gradient scope.
   */
  logProbsAt(
    histories: number[][],
    rows: number[][],
    K: number,
    labels: (T: number) => Int32Array,
    dropoutSeed?: number,
  ): { lp: TF.Tensor2D; T: number; lens: number[] };
  /** Current trainable weights as named float32 arrays (checkpoint order). */
  snapshotWeights(): Promise<Map<string, Float32Array>>;
}

/** The `logProbsAt` member (implementations take `...[histories, rows, K, labels, dropoutSeed]: Parameters<LogProbsAt>`). */
export type LogProbsAt = TrainablePolicy['logProbsAt'];

/** A trainable policy with incremental decoding sessions (core/decode). */
export type TrainableSessionPolicy = TrainablePolicy & SessionPolicy;

/**
 * What the decoders of docs/methods.md §A7 need from a policy: next-token log-probs (StepPolicy) and, when the
 * policy offers it, incremental decoding with a key/value cache (SessionPolicy, DecodeSession). Kept apart from
 * the decoders so that beam.ts and sample.ts import the contract, not the module that re-exports them.
 */
export interface StepPolicy {
  /** Log-probs over the POLICY vocabulary (full vocab log-softmax, docs/methods.md §A4/A7) for the next token of each row; prefixes are policy ids without BOS. */
  nextLogProbs(histories: number[][], prefixes: number[][]): Promise<Float32Array[]>;
}

/**
 * Incremental decoding (docs/methods.md §A6: the policy interface offers "incremental decoding"; used by the A7
 * beam search and the A4 sampler): a set of decoding states whose per-layer key/value cache the policy
 * keeps between steps, so each step only runs the new tokens through the model. Results equal
 * `nextLogProbs` on the same prefixes (up to float rounding).
 */
export interface DecodeSession {
  /** Number of current states. */
  readonly size: number;
  /**
   * Replace the states by new ones: new state i = current state `parents[i]` extended by `tokens[i]`
   * (policy ids). A parent may appear several times (beams that branch) or not at all (finished beams).
   * Returns the full-vocabulary log-probs of the next token of every new state.
   */
  step(parents: ArrayLike<number>, tokens: ArrayLike<number>): Promise<Float32Array[]>;
  /** Release the cache (tensors). Idempotent; the decoders call it in a `finally`. */
  dispose(): void;
}

/** What `startSession` gives: the session (one state per history, empty prefix) and the log-probs of each state's first token. */
export interface SessionStart {
  session: DecodeSession;
  logProbs: Float32Array[];
}

/** A StepPolicy that also offers incremental decoding sessions (core/models/policy TransformerPolicy). */
export interface SessionPolicy extends StepPolicy {
  /** Start a session whose states are the given histories with empty prefixes (BOS only). */
  startSession(histories: number[][]): Promise<SessionStart>;
}

/** True when the policy offers incremental decoding sessions (the decoders then use them). */
export function hasSessions(policy: StepPolicy): policy is SessionPolicy {
  return typeof (policy as Partial<SessionPolicy>).startSession === 'function';
}

/** The same policy seen through `nextLogProbs` only: decoders then recompute every prefix (the stateless path; tests and bench compare). */
export function statelessPolicy(policy: StepPolicy): StepPolicy {
  return { nextLogProbs: (histories, prefixes) => policy.nextLogProbs(histories, prefixes) };
}

/** Optional timing counters filled in by the decoders (bench/). */
export interface DecodeStats {
  /** Time inside policy.nextLogProbs. */
  policyMs: number;
  /** Time computing allowed-token sets (trie children ranges -> policy ids). */
  maskMs: number;
  /** Everything else: temperature, scoring, top-k, bookkeeping. */
  selectMs: number;
  steps: number;
  /** Number of (row, beam) states scored by the policy. */
  states: number;
}

export function newDecodeStats(): DecodeStats {
  return { policyMs: 0, maskMs: 0, selectMs: 0, steps: 0, states: 0 };
}

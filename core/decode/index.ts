/**
 * Decoding constrained to the title prefix tree (METHODS A7): beam search and sampling, against the
 * StepPolicy interface that the Flower policy model implements.
 */
export interface StepPolicy {
  /** Log-probs over the POLICY vocabulary (full vocab log-softmax, METHODS A4/A7) for the next token of each row; prefixes are policy ids without BOS. */
  nextLogProbs(histories: number[][], prefixes: number[][]): Promise<Float32Array[]>;
}

/** Optional timing counters filled in by the decoders (bench/, issue 4 item 4c). */
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

export { beamSearch, beamSearchScored, type BeamOptions, type BeamHypothesis } from './beam';
export { sampleTitles, type SampleOptions, type SampledTitle } from './sample';
export { nodePolicyIds, temperatureLogProbs } from './mask';

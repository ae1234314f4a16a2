/**
 * Decoding constrained to the title prefix tree (docs/methods.md §A7): beam search and sampling, against the
 * StepPolicy interface that the Flower policy model implements.
 */
export {
  hasSessions,
  newDecodeStats,
  statelessPolicy,
  type DecodeSession,
  type DecodeStats,
  type SessionPolicy,
  type SessionStart,
  type StepPolicy,
} from './policy';
export { beamSearch, beamSearchScored, type BeamOptions, type BeamHypothesis } from './beam';
export { sampleTitles, type SampleOptions, type SampledTitle } from './sample';
export { nodePolicyIds, temperatureLogProbs } from './mask';

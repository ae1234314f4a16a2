/**
 * "Run Baselines" (issue 7): each kind's baselines as `--set` overrides of the user's config, run one
 * after another as ordinary runs (each its own run folder, progress and Cancel). From METHODS.md:
 *  - flower (A7, A8): BIGRec = SFT + constrained beam search; Temp = temperature 1.5 and D3 = length
 *    penalty 0 on that SFT model (one training, three decodings via `alsoDecode`); IFairLRS = SFT with
 *    per-sample popularity-group weights. (SASRec is the `sequential` kind.)
 *  - afl (B): "Rec Agent" = one round (no user-agent feedback).
 *  - sequential: the three model families.
 * The override paths are the kinds' schema fields; a path a kind does not (yet) have fails that run with
 * the runner's located `--set` error, shown like any failed run — never silently skipped.
 */
export interface Baseline {
  name: string;
  description: string;
  set: string[];
}

export const BASELINES: Record<string, Baseline[]> = {
  flower: [
    {
      name: 'sft',
      description: 'BIGRec = SFT + constrained beam search, plus the Temp (temperature 1.5) and D3 (length penalty 0) decodings of the same SFT model (METHODS A7, A8)',
      set: ['objective=sft', 'alsoDecode=[{"name":"temp","temperature":1.5},{"name":"d3","lengthPenalty":0}]'],
    },
    { name: 'ifairlrs', description: 'IFairLRS: SFT with per-sample popularity-group weights (METHODS A8)', set: ['objective=ifairlrs'] },
  ],
  afl: [
    { name: 'rec-agent', description: 'Rec Agent alone: one round, no user-agent feedback (METHODS B)', set: ['maxRounds=1'] },
  ],
  sequential: [
    { name: 'sasrec', description: 'SASRec (METHODS A8)', set: ['model=sasrec'] },
    { name: 'gru4rec', description: 'GRU4Rec', set: ['model=gru4rec'] },
    { name: 'caser', description: 'Caser', set: ['model=caser'] },
  ],
};

/**
 * One Scorer interface for both papers: scores for a user history over all items, or over
 * a candidate list. Implemented by tfjs models (SASRec, GRU4Rec, Caser), imported PyTorch weights,
 * ONNX models (onnxruntime-node; OnnxScorer) and a Flower policy checkpoint (FlowerPolicyScorer,
 * core/models/policyScorer.ts: the length-normalised log-probability of each candidate's title, docs/methods.md
 * §A7 scoring). All load through loadScorer (core/models/load.ts). Used by Flower personalization (p_ui,
 * docs/methods.md §A5), AFL priors (§B3) and AFL reward models.
 *
 * Histories are item ids in the dataset's own id space, oldest first, WITHOUT padding; the scorer
 * pads/truncates to its own sequence length.
 */
export interface Scorer {
  readonly name: string;
  /** Number of items the scorer knows (ids 0..numItems-1 unless the dataset says otherwise). */
  readonly numItems: number;
  /** Describes what it is ("SASRec (imported PyTorch weights, tfjs wasm)", "ONNX model.onnx (onnxruntime-node)"). */
  readonly description: string;
  /** Scores (logits; higher = better) over all items for each history: result[b][itemId]. */
  scoreAll(histories: number[][]): Promise<Float32Array[]>;
  /** Scores for each history's candidate list, aligned with candidates[b]. */
  scoreCandidates(histories: number[][], candidates: number[][]): Promise<Float32Array[]>;
  /** Release tensors / sessions. */
  dispose(): void;
}

/**
 * Scorer (core/models/scorer.ts) backed by a tfjs sequential model — one trained by Flowloop or one
 * built from imported PyTorch weights. Eval mode (no dropout), batched.
 */
import type { Scorer } from './scorer';
import { getTf } from '../tensor';
import type { SeqModelBase } from './layers';
import { checkItemIds, padHistories, scoreCandidatesViaAll } from './batch';

export class TfjsScorer implements Scorer {
  readonly numItems: number;

  constructor(
    readonly model: SeqModelBase,
    readonly name: string,
    readonly description: string,
    private readonly batchSize = 256,
  ) {
    this.numItems = model.config.numItems;
  }

  /** logits over all items for each history (docs/methods.md §C output at position len-1). */
  async scoreAll(histories: number[][]): Promise<Float32Array[]> {
    checkItemIds(histories, this.numItems, 'histories');
    const t = getTf();
    const { maxLen } = this.model.config;
    const out: Float32Array[] = [];
    for (let s = 0; s < histories.length; s += this.batchSize) {
      const chunk = histories.slice(s, s + this.batchSize);
      const pb = padHistories(chunk, maxLen, this.model.padId);
      const logits = t.tidy(() => {
        const seq = t.tensor2d(pb.seq, [pb.batch, maxLen], 'int32');
        const lens = t.tensor1d(pb.lens, 'int32');
        return this.model.logitsAll(this.model.represent(seq, lens, false));
      });
      const data = (await logits.data()) as Float32Array;
      logits.dispose();
      for (let b = 0; b < pb.batch; b++) out.push(data.slice(b * this.numItems, (b + 1) * this.numItems));
    }
    return out;
  }

  async scoreCandidates(histories: number[][], candidates: number[][]): Promise<Float32Array[]> {
    return scoreCandidatesViaAll(this, histories, candidates);
  }

  dispose(): void {
    this.model.dispose();
  }
}

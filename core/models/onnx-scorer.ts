/**
 * Scorer backed by an external ONNX model (`model.onnx`: inputs `seq` int64 [B, L] left-aligned and
 * padded with numItems, `len` int64 [B]; output `logits` float32 [B, numItems]) run by
 * onnxruntime-node. The native module is loaded lazily, in `OnnxScorer.load`, never at import time
 * (the VS Code extension host must not load it).
 */
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { LocatedError } from '../experiment/context';
import type { Scorer } from './scorer';
import { checkItemIds, padHistories, scoreCandidatesViaAll } from './batch';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

export class OnnxScorer implements Scorer {
  private constructor(
    private readonly ort: Ort,
    private readonly session: Session,
    readonly name: string,
    readonly description: string,
    readonly numItems: number,
    readonly maxLen: number,
    private readonly batchSize = 256,
  ) {}

  /** Open `file` (a model.onnx); checks the seq/len -> logits contract and reads L and numItems from it. */
  static async load(file: string, name?: string): Promise<OnnxScorer> {
    if (!existsSync(file)) throw new LocatedError('ONNX model not found', file);
    let ort: Ort;
    try {
      ort = await import('onnxruntime-node');
    } catch (e) {
      throw new LocatedError(`onnxruntime-node cannot load: ${(e as Error).message}`, file);
    }
    const session = await ort.InferenceSession.create(file);
    for (const n of ['seq', 'len']) if (!session.inputNames.includes(n)) throw new LocatedError(`model has no input "${n}" (inputs: ${session.inputNames.join(', ')}); expected seq int64 [B,L], len int64 [B]`, file);
    if (!session.outputNames.includes('logits')) throw new LocatedError(`model has no output "logits" (outputs: ${session.outputNames.join(', ')})`, file);
    const seqMeta = session.inputMetadata.find((m) => m.name === 'seq');
    const outMeta = session.outputMetadata.find((m) => m.name === 'logits');
    const L = seqMeta && seqMeta.isTensor ? seqMeta.shape[1] : undefined;
    const N = outMeta && outMeta.isTensor ? outMeta.shape[1] : undefined;
    if (typeof L !== 'number' || typeof N !== 'number') throw new LocatedError(`seq must have a fixed length and logits a fixed item count (got seq ${JSON.stringify(seqMeta)}, logits ${JSON.stringify(outMeta)})`, file);
    const nm = name ?? basename(dirname(file));
    return new OnnxScorer(ort, session, nm, `ONNX ${basename(file)} of ${nm} (onnxruntime-node, cpu)`, N, L);
  }

  async scoreAll(histories: number[][]): Promise<Float32Array[]> {
    checkItemIds(histories, this.numItems, 'histories');
    const out: Float32Array[] = [];
    for (let s = 0; s < histories.length; s += this.batchSize) {
      const pb = padHistories(histories.slice(s, s + this.batchSize), this.maxLen, this.numItems);
      const seq = new this.ort.Tensor('int64', BigInt64Array.from(pb.seq, (v) => BigInt(v)), [pb.batch, this.maxLen]);
      const len = new this.ort.Tensor('int64', BigInt64Array.from(pb.lens, (v) => BigInt(v)), [pb.batch]);
      const res = await this.session.run({ seq, len });
      const data = res.logits.data as Float32Array;
      for (let b = 0; b < pb.batch; b++) out.push(data.slice(b * this.numItems, (b + 1) * this.numItems));
    }
    return out;
  }

  async scoreCandidates(histories: number[][], candidates: number[][]): Promise<Float32Array[]> {
    return scoreCandidatesViaAll(this, histories, candidates);
  }

  dispose(): void { void this.session.release(); }
}

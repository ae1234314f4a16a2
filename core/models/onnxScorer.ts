/**
 * Scorer backed by an external ONNX model (`model.onnx`: inputs `seq` int64 [B, L] left-aligned and
 * padded with numItems, `len` int64 [B]; output `logits` float32 [B, numItems]) run by
 * onnxruntime-node. The native module is loaded lazily, in `OnnxScorer.load`, never at import time
 * (the VS Code extension host must not load it).
 *
 * Execution provider from the config's `device` (base schema): `gpu` asks for onnxruntime-node's CUDA
 * provider (executionProviders ['cuda', 'cpu']: CPU only for the nodes CUDA lacks) and fails clearly when
 * the provider library is not installed — never a silent CPU fallback; `auto`, `cpu` and `wasm` run on the
 * bundled CPU provider. The description names the provider really used.
 */
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { LocatedError } from '../experiment/context';
import type { Scorer } from './scorer';
import { checkItemIds, padHistories, scoreCandidatesViaAll } from './batch';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

/** How to get onnxruntime-node's CUDA provider (its postinstall downloads it only when asked). */
export const ORT_CUDA_INSTALL_HINT =
  'install it with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (CUDA 12 and cuDNN 9 on the machine), or set "device" to "cpu" or "auto"';

/**
 * An onnxruntime-node session on the provider `device` asks for: `gpu` -> CUDA (else a LocatedError saying
 * how to install the provider), anything else -> CPU. Returns the session and the provider used.
 */
export async function createOrtSession(
  ort: Ort,
  model: string | Uint8Array,
  device: string | undefined,
  where: string,
  extra: import('onnxruntime-node').InferenceSession.SessionOptions = {},
): Promise<{ session: Session; provider: 'cuda' | 'cpu' }> {
  if (device !== 'gpu') {
    const session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, { ...extra, executionProviders: ['cpu'] })
        : await ort.InferenceSession.create(model, { ...extra, executionProviders: ['cpu'] });
    return { session, provider: 'cpu' };
  }
  try {
    const opts = { ...extra, executionProviders: ['cuda', 'cpu'] };
    const session =
      typeof model === 'string' ? await ort.InferenceSession.create(model, opts) : await ort.InferenceSession.create(model, opts);
    return { session, provider: 'cuda' };
  } catch (e) {
    const msg = (e as Error).message;
    if (/cuda|provider|shared librar/i.test(msg))
      throw new LocatedError(
        `device "gpu": onnxruntime-node's CUDA execution provider cannot load (${msg.trim()}); ${ORT_CUDA_INSTALL_HINT}`,
        where,
      );
    throw new LocatedError(`onnxruntime-node cannot open the model on CUDA: ${msg}`, where);
  }
}

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

  /** Open `file` (a model.onnx) on the provider `opts.device` asks for (see the file comment); checks the seq/len -> logits contract and reads L and numItems from it. */
  static async load(file: string, name?: string, opts: { device?: 'auto' | 'gpu' | 'cpu' | 'wasm' } = {}): Promise<OnnxScorer> {
    if (!existsSync(file)) throw new LocatedError('ONNX model not found', file);
    let ort: Ort;
    try {
      ort = await import('onnxruntime-node');
    } catch (e) {
      throw new LocatedError(`onnxruntime-node cannot load: ${(e as Error).message}`, file);
    }
    const { session, provider } = await createOrtSession(ort, file, opts.device, file);
    for (const n of ['seq', 'len'])
      if (!session.inputNames.includes(n))
        throw new LocatedError(
          `model has no input "${n}" (inputs: ${session.inputNames.join(', ')}); expected seq int64 [B,L], len int64 [B]`,
          file,
        );
    if (!session.outputNames.includes('logits'))
      throw new LocatedError(`model has no output "logits" (outputs: ${session.outputNames.join(', ')})`, file);
    const seqMeta = session.inputMetadata.find((m) => m.name === 'seq');
    const outMeta = session.outputMetadata.find((m) => m.name === 'logits');
    const L = seqMeta && seqMeta.isTensor ? seqMeta.shape[1] : undefined;
    const N = outMeta && outMeta.isTensor ? outMeta.shape[1] : undefined;
    if (typeof L !== 'number' || typeof N !== 'number')
      throw new LocatedError(
        `seq must have a fixed length and logits a fixed item count (got seq ${JSON.stringify(seqMeta)}, logits ${JSON.stringify(outMeta)})`,
        file,
      );
    const nm = name ?? basename(dirname(file));
    return new OnnxScorer(
      ort,
      session,
      nm,
      `ONNX ${basename(file)} of ${nm} (onnxruntime-node, ${provider === 'cuda' ? 'CUDA execution provider' : 'cpu'})`,
      N,
      L,
    );
  }

  async scoreAll(histories: number[][]): Promise<Float32Array[]> {
    checkItemIds(histories, this.numItems, 'histories');
    const out: Float32Array[] = [];
    for (let s = 0; s < histories.length; s += this.batchSize) {
      const pb = padHistories(histories.slice(s, s + this.batchSize), this.maxLen, this.numItems);
      const seq = new this.ort.Tensor(
        'int64',
        BigInt64Array.from(pb.seq, (v) => BigInt(v)),
        [pb.batch, this.maxLen],
      );
      const len = new this.ort.Tensor(
        'int64',
        BigInt64Array.from(pb.lens, (v) => BigInt(v)),
        [pb.batch],
      );
      const res = await this.session.run({ seq, len });
      const data = res.logits.data as Float32Array;
      for (let b = 0; b < pb.batch; b++) out.push(data.slice(b * this.numItems, (b + 1) * this.numItems));
    }
    return out;
  }

  async scoreCandidates(histories: number[][], candidates: number[][]): Promise<Float32Array[]> {
    return scoreCandidatesViaAll(this, histories, candidates);
  }

  dispose(): void {
    void this.session.release();
  }
}

/**
 * A causal LM exported to ONNX by the user (e.g. `torch.onnx.export`, or `optimum-cli export onnx --task
 * text-generation` without past key/values): inputs `input_ids` and `attention_mask` int64 [B, L] (and
 * `position_ids` when the graph has it: cumsum(mask) − 1, as Flowloop's own model), output `logits`
 * float32 [B, L, V]. Run by onnxruntime-node as a core/decode StepPolicy (stateless: every step runs the
 * whole prefix — no KV cache) and for completion log-probabilities. Rows are left-padded, so the last slot
 * of every row is its newest token. Log-probs are normalised over the full vocabulary in double precision.
 */
import { existsSync } from 'node:fs';
import { LocatedError } from '../experiment/context';
import type { StepPolicy } from '../decode';
import { createOrtSession } from '../models/onnxScorer';
import { logSoftmaxInPlace } from './policy';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

export class OnnxLmPolicy implements StepPolicy {
  private constructor(
    private readonly ort: Ort,
    private readonly session: Session,
    readonly padId: number,
    readonly provider: string,
    private readonly withPositions: boolean,
  ) {}

  /** Open `file`; checks the input/output names of the contract above (located errors). */
  static async load(file: string, padId: number, device?: 'auto' | 'gpu' | 'cpu' | 'wasm'): Promise<OnnxLmPolicy> {
    if (!existsSync(file)) throw new LocatedError('ONNX model not found', file);
    const ort = await import('onnxruntime-node');
    const { session, provider } = await createOrtSession(ort, file, device, file);
    for (const n of ['input_ids', 'attention_mask']) {
      if (!session.inputNames.includes(n))
        throw new LocatedError(
          `the graph has no input "${n}" (inputs: ${session.inputNames.join(', ')}); export the model with input_ids and attention_mask [batch, sequence]`,
          file,
        );
    }
    const extra = session.inputNames.filter((n) => !['input_ids', 'attention_mask', 'position_ids'].includes(n));
    if (extra.length) throw new LocatedError(`unsupported graph inputs ${extra.join(', ')} (export without past key/values)`, file);
    if (!session.outputNames.includes('logits'))
      throw new LocatedError(`the graph has no output "logits" (outputs: ${session.outputNames.join(', ')})`, file);
    return new OnnxLmPolicy(ort, session, padId, provider, session.inputNames.includes('position_ids'));
  }

  /** Logits [B, L, V] of left-padded rows (returns the flat data, L and V). */
  private async run(rows: number[][]): Promise<{ data: Float32Array; L: number; V: number }> {
    const B = rows.length;
    const L = Math.max(...rows.map((r) => r.length));
    const ids = new BigInt64Array(B * L).fill(BigInt(this.padId));
    const mask = new BigInt64Array(B * L);
    const pos = new BigInt64Array(B * L);
    rows.forEach((r, b) => {
      const off = L - r.length;
      r.forEach((t, j) => {
        ids[b * L + off + j] = BigInt(t);
        mask[b * L + off + j] = 1n;
        pos[b * L + off + j] = BigInt(j);
      });
    });
    const feeds: Record<string, import('onnxruntime-node').Tensor> = {
      input_ids: new this.ort.Tensor('int64', ids, [B, L]),
      attention_mask: new this.ort.Tensor('int64', mask, [B, L]),
    };
    if (this.withPositions) feeds.position_ids = new this.ort.Tensor('int64', pos, [B, L]);
    const out = await this.session.run(feeds);
    const logits = out.logits;
    const data = logits.data as Float32Array;
    return { data, L, V: data.length / (B * L) };
  }

  /** StepPolicy: full-vocabulary log-probs of the next token after prompt b + prefixes[b]. */
  async nextLogProbs(prompts: number[][], prefixes: number[][], chunk = 16): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let s = 0; s < prefixes.length; s += chunk) {
      const rows = prefixes.slice(s, s + chunk).map((p, i) => [...prompts[s + i], ...p]);
      const { data, L, V } = await this.run(rows);
      rows.forEach((_, b) => out.push(logSoftmaxInPlace(data.slice((b * L + L - 1) * V, (b * L + L) * V))));
    }
    return out;
  }

  /** Σ log π(completion | prompt) over the full vocabulary per row (`batch` rows per run). */
  async completionLogProbs(prompts: number[][], completions: number[][], batch = 8): Promise<{ logprob: number; tokens: number }[]> {
    const res: { logprob: number; tokens: number }[] = [];
    for (let s = 0; s < prompts.length; s += batch) {
      const rows = prompts.slice(s, s + batch).map((p, i) => [...p, ...completions[s + i]]);
      const { data, L, V } = await this.run(rows);
      rows.forEach((r, b) => {
        const c = completions[s + b];
        const first = L - c.length - 1; // slot of the last prompt token
        let sum = 0;
        c.forEach((tok, t) => {
          sum += logSoftmaxInPlace(data.slice((b * L + first + t) * V, (b * L + first + t + 1) * V))[tok];
        });
        res.push({ logprob: sum, tokens: c.length });
      });
    }
    return res;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

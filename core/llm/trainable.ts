/**
 * A pretrained causal LM as a TRAINABLE Flower policy (docs/methods.md §A4–A6, §A6b), so the objective,
 * the training loop and the trie decoders drive it exactly as they drive the from-scratch transformer
 * (core/models/trainablePolicy.ts):
 * - a row's "history" (dataset item ids) becomes its prompt token ids through `promptOf` (the released
 *   text prompt, built by the setup) — the prompt lives outside the prefix tree;
 * - rows, labels and decoded tokens are POLICY ids of the trie's PolicyVocab, mapped to model token ids
 *   here; log π is still normalised over the model's FULL vocabulary (core/llm/policy.ts) and only read at
 *   the policy vocabulary's tokens (pad and BOS, which the LM has no use for, read −∞);
 * - the trainable parameters are either every base weight (full fine-tuning) or the LoRA adapters
 *   (core/llm/lora.ts, base weights frozen).
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { DecodeSession, SessionStart } from '../decode';
import type { PolicyVocab } from '../tokenize/policyVocab';
import type { LogProbsAt, TrainableSessionPolicy } from '../models/trainablePolicy';
import type { LmPolicy } from './policy';

export interface TrainableParams {
  names: string[];
  weights: Record<string, TF.Variable>;
}

export class LmTrainable implements TrainableSessionPolicy {
  /** `maxTokens`: longest title path incl. the terminal; `maxHistory`: history items in a prompt. */
  readonly cfg: { maxTokens: number; maxHistory: number };
  readonly names: string[];
  readonly weights: Record<string, TF.Variable>;
  private readonly prompts = new Map<string, number[]>();
  /** Policy id → model id (−1 for pad / BOS). */
  private readonly toModel: Int32Array;

  constructor(
    readonly lm: LmPolicy,
    readonly vocab: PolicyVocab,
    params: TrainableParams,
    private readonly promptOf: (history: number[]) => number[],
    maxTokens: number,
    maxHistory = 10,
  ) {
    this.cfg = { maxTokens, maxHistory };
    this.names = params.names;
    this.weights = params.weights;
    this.toModel = Int32Array.from({ length: vocab.size }, (_, p) => vocab.toTokenizer(p));
    for (const t of this.toModel)
      if (t >= lm.vocabSize)
        throw new Error(
          `title token id ${t} is outside the model's vocabulary (${lm.vocabSize}): the trie was built with another tokenizer`,
        );
  }

  /** Prompt token ids of a history (cached per distinct history). */
  prompt(history: number[]): number[] {
    const key = history.join(',');
    let p = this.prompts.get(key);
    if (!p) {
      p = this.promptOf(history);
      this.prompts.set(key, p);
    }
    return p;
  }

  private modelRows(rows: number[][]): number[][] {
    return rows.map((r) =>
      r.map((p) => {
        const t = p >= 0 && p < this.toModel.length ? this.toModel[p] : -1;
        if (t < 0) throw new Error(`policy id ${p} has no model token (pad/BOS inside a title row)`);
        return t;
      }),
    );
  }

  logProbsAt(...[histories, rows, K, labels, dropoutSeed]: Parameters<LogProbsAt>): ReturnType<LogProbsAt> {
    const V = this.toModel.length;
    return this.lm.logProbsAt(
      histories.map((h) => this.prompt(h)),
      this.modelRows(rows),
      K,
      (T) => {
        const lab = labels(T);
        const out = new Int32Array(lab.length);
        for (let i = 0; i < lab.length; i++) out[i] = lab[i] >= 0 && lab[i] < V ? this.toModel[lab[i]] : -1;
        return out;
      },
      dropoutSeed,
    );
  }

  /** Model-vocabulary log-probs → policy-vocabulary arrays (same values, read at the policy's tokens). */
  private toPolicy(rows: Float32Array[]): Float32Array[] {
    const n = this.toModel.length;
    return rows.map((lp) => {
      const out = new Float32Array(n);
      for (let p = 0; p < n; p++) out[p] = this.toModel[p] >= 0 ? lp[this.toModel[p]] : -Infinity;
      return out;
    });
  }

  async nextLogProbs(histories: number[][], prefixes: number[][]): Promise<Float32Array[]> {
    return this.toPolicy(
      await this.lm.nextLogProbs(
        histories.map((h) => this.prompt(h)),
        this.modelRows(prefixes),
      ),
    );
  }

  async startSession(histories: number[][]): Promise<SessionStart> {
    const start = await this.lm.startSession(histories.map((h) => this.prompt(h)));
    const inner = start.session;
    const toModel = this.toModel;
    const session: DecodeSession = {
      get size() {
        return inner.size;
      },
      step: async (parents, tokens) => {
        const mt = Array.from(tokens, (p) => {
          const t = toModel[p] ?? -1;
          if (t < 0) throw new Error(`policy id ${p} has no model token`);
          return t;
        });
        return this.toPolicy(await inner.step(parents, mt));
      },
      dispose: () => inner.dispose(),
    };
    return { session, logProbs: this.toPolicy(start.logProbs) };
  }

  /** Called by `dispose()` (the owner frees the model and adapters there). */
  onDispose?: () => void;

  dispose(): void {
    this.onDispose?.();
  }

  /** Trainable parameter count (LoRA: the adapters; full fine-tuning: every weight). */
  paramCount(): number {
    return this.names.reduce((a, n) => a + this.weights[n].size, 0);
  }

  async snapshotWeights(): Promise<Map<string, Float32Array>> {
    const m = new Map<string, Float32Array>();
    for (const n of this.names) m.set(n, (await this.weights[n].data()) as Float32Array);
    return m;
  }
}

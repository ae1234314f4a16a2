/**
 * Personalization of the GFN reward with an auxiliary recommender (docs/methods.md §A5). p_u = softmax over
 * items of a sequential recommender's logits for the training row; p_ui is taken for the SAMPLED item
 * and only the GFN term's token log-rewards change.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { LocatedError } from '../experiment/context';
import type { Scorer } from '../models/scorer';

export type PersonalizationMode = 'none' | 'div' | 'add_logs';

/** Softmax of a logit vector in float64 (p_u, docs/methods.md §A5). */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > mx) mx = logits[i];
  const out = new Float64Array(logits.length);
  let s = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i] - mx);
    s += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= s;
  return out;
}

/** Summary of p_u needed by both variants (mean, max, min over items). */
export interface PuStats {
  mean: number;
  max: number;
  min: number;
}

export function puStats(pu: ArrayLike<number>): PuStats {
  let s = 0,
    mx = -Infinity,
    mn = Infinity;
  for (let i = 0; i < pu.length; i++) {
    const v = pu[i];
    s += v;
    if (v > mx) mx = v;
    if (v < mn) mn = v;
  }
  return { mean: s / pu.length, max: mx, min: mn };
}

/**
 * docs/methods.md §A5 scale s_ui for the sampled item's p_ui:
 *  div:      s = (p_ui − mean_j p_uj) / (max_j p_uj − min_j p_uj) + 1
 *  add_logs: s = (p_ui − min_j p_uj) / (max_j p_uj − min_j p_uj)
 * A flat p_u (max = min) cannot be normalised: that is an error (the reference raises too).
 */
export function personalizationScale(mode: Exclude<PersonalizationMode, 'none'>, pui: number, st: PuStats): number {
  const range = st.max - st.min;
  if (!(range > 0)) throw new Error('personalization: the scorer gives every item the same probability (max = min); cannot normalise p_u');
  return mode === 'div' ? (pui - st.mean) / range + 1 : (pui - st.min) / range;
}

/**
 * docs/methods.md §A5 applied to one sampled path's token log-rewards ℓ*_j (title tokens) and ℓ*_⊤:
 *  div:      every token log-reward divided by s_ui (item log-reward log P*(i) / s_ui)
 *  add_logs: log(s_ui + 1e-20) added to every token's log-reward (terminal included)
 */
export function personalizeLogRewards(
  mode: PersonalizationMode,
  ell: number[],
  ellTerm: number,
  s: number,
): { ell: number[]; ellTerm: number } {
  if (mode === 'none') return { ell, ellTerm };
  if (mode === 'div') return { ell: ell.map((v) => v / s), ellTerm: ellTerm / s };
  const a = Math.log(s + 1e-20);
  return { ell: ell.map((v) => v + a), ellTerm: ellTerm + a };
}

/**
 * Source of p_u for a training row: a live Scorer (history item ids → logits) or a precomputed score
 * file. Returns p_u (softmax) per requested row.
 */
export interface PuSource {
  readonly description: string;
  /** p_u is computed from the history (a live scorer), so it is defined for any row, not only training rows. */
  readonly byHistory?: boolean;
  pu(rows: number[], histories: number[][]): Promise<Float64Array[]>;
}

/** p_u from any Scorer (e.g. SASRec from core/models): softmax of scoreAll logits. */
export function puFromScorer(scorer: Scorer): PuSource {
  return {
    description: scorer.description,
    byHistory: true,
    async pu(_rows, histories) {
      const logits = await scorer.scoreAll(histories);
      return logits.map((l) => softmax(l));
    },
  };
}

/**
 * p_u from a precomputed score file: JSON lines `{"row": <0-based training row>, "scores": [logit per
 * item id]}` (logits; softmaxed here) or `{"row", "probs": [...]}` (already probabilities).
 */
export async function puFromScoreFile(file: string): Promise<PuSource> {
  const byRow = new Map<number, Float64Array>();
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  let width = -1;
  for await (const text of rl) {
    line++;
    if (!text.trim()) continue;
    let o: { row?: unknown; probs?: unknown; scores?: unknown };
    try {
      o = JSON.parse(text);
    } catch (e) {
      throw new LocatedError(`not JSON: ${(e as Error).message}`, `${file}:${line}`);
    }
    if (!Number.isInteger(o.row)) throw new LocatedError('missing integer "row"', `${file}:${line}`);
    const arr = o.probs ?? o.scores;
    if (!Array.isArray(arr) || arr.some((v: unknown) => typeof v !== 'number'))
      throw new LocatedError('need a numeric array "scores" (logits) or "probs"', `${file}:${line}`);
    if (width >= 0 && arr.length !== width)
      throw new LocatedError(`row has ${arr.length} scores, earlier rows ${width}`, `${file}:${line}`);
    width = arr.length;
    byRow.set(o.row as number, o.probs ? Float64Array.from(arr) : softmax(arr));
  }
  return {
    description: `precomputed scores ${file} (${byRow.size} rows × ${width} items)`,
    async pu(rows) {
      return rows.map((r) => {
        const p = byRow.get(r);
        if (!p) throw new LocatedError(`no scores for training row ${r}`, file);
        return p;
      });
    },
  };
}

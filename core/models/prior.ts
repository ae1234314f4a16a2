/**
 * Priors computed live (docs/methods.md §B3): a base model's top-1 AMONG each user's candidates, in the
 * reference CSV format `id,generate,real`, and their HR@1. Works with any Scorer loadScorer opens
 * (SASRec / GRU4Rec / Caser in tfjs, imported weights, ONNX, a Flower policy checkpoint through
 * FlowerPolicyScorer — its top-1 is the candidate with the best length-normalised title log-prob).
 * Ties go to the first candidate (torch.argmax convention).
 */
import { writeFileSync } from 'node:fs';
import type { Catalogue } from '../data/catalogue';
import type { Scorer } from './scorer';

/** What a prior needs of a candidate row (core/data `CandidateRow` fits). */
export interface PriorInput {
  id: number;
  /** History, unpadded, oldest first. */
  seq: number[];
  next: number;
  cans: number[];
  /** Names aligned with `cans`; else names come from the catalogue. */
  cansNames?: string[];
}

export interface PriorRow {
  id: number;
  /** Name of the base model's top-1 candidate. */
  generate: string;
  /** Name of the true next item. */
  real: string;
}

/** Index of the largest score (first one on ties). */
export function argmax(a: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i;
  return k;
}

/** The scorer's top-1 candidate for each row, with the candidate scores (docs/methods.md §B3 "prior"). */
export async function computePriors(
  scorer: Scorer,
  rows: PriorInput[],
  catalogue?: Catalogue,
): Promise<(PriorRow & { scores: Float32Array; top: number })[]> {
  const scores = await scorer.scoreCandidates(
    rows.map((r) => r.seq),
    rows.map((r) => r.cans),
  );
  const name = (r: PriorInput, k: number): string => {
    if (r.cansNames) return r.cansNames[k];
    if (!catalogue) throw new Error(`row ${r.id}: candidate names need a catalogue (no cans_names)`);
    return catalogue.titleOf(r.cans[k]);
  };
  return rows.map((r, b) => {
    const top = argmax(scores[b]);
    const k = r.cans.indexOf(r.next);
    const real = k >= 0 ? name(r, k) : (catalogue?.title(r.next) ?? String(r.next));
    return { id: r.id, generate: name(r, top), real, scores: scores[b], top };
  });
}

/** HR@1 of a prior: rows whose generate equals real (exact name match). */
export function priorHits(rows: PriorRow[]): { hits: number; total: number; hr1: number } {
  const hits = rows.filter((r) => r.generate === r.real).length;
  return { hits, total: rows.length, hr1: rows.length ? hits / rows.length : 0 };
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Prior rows as CSV text in the reference format (header id,generate,real). */
export function priorCsv(rows: PriorRow[]): string {
  return ['id,generate,real', ...rows.map((r) => `${r.id},${csvField(r.generate)},${csvField(r.real)}`)].join('\n') + '\n';
}

export function writePriorCsv(file: string, rows: PriorRow[]): void {
  writeFileSync(file, priorCsv(rows));
}

/**
 * Convenience for AFL: load a base model (folder with manifest.json + weights.bin and/or model.onnx)
 * and compute its live priors on candidate rows. The scorer is released afterwards.
 */
export async function livePriors(
  modelDir: string,
  rows: PriorInput[],
  opts: { engine?: 'tfjs' | 'onnx'; device?: 'auto' | 'gpu' | 'cpu' | 'wasm'; catalogue?: Catalogue } = {},
): Promise<{ rows: PriorRow[]; hits: number; total: number; hr1: number; description: string }> {
  const { loadScorer } = await import('./load');
  const scorer = await loadScorer(modelDir, { engine: opts.engine, device: opts.device, catalogue: opts.catalogue });
  try {
    const pri = (await computePriors(scorer, rows, opts.catalogue)).map(({ id, generate, real }) => ({ id, generate, real }));
    return { rows: pri, ...priorHits(pri), description: scorer.description };
  } finally {
    scorer.dispose();
  }
}

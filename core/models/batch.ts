/**
 * Histories -> the models' input layout (docs/methods.md §C): the last maxLen items, oldest first,
 * left-aligned at position 0, padded AFTER with padId; len = number of real items, at least 1
 * (the reference sets len_seq = 1 for an empty history, so position 0 — a pad — is read).
 */
export interface PaddedBatch {
  seq: Int32Array; // [B * maxLen]
  lens: Int32Array; // [B]
  batch: number;
  maxLen: number;
}

export function padHistories(histories: number[][], maxLen: number, padId: number): PaddedBatch {
  const B = histories.length;
  const seq = new Int32Array(B * maxLen).fill(padId);
  const lens = new Int32Array(B);
  histories.forEach((h, b) => {
    const tail = h.length > maxLen ? h.slice(h.length - maxLen) : h;
    for (let i = 0; i < tail.length; i++) seq[b * maxLen + i] = tail[i];
    lens[b] = Math.max(1, tail.length);
  });
  return { seq, lens, batch: B, maxLen };
}

/** Checks every id is a real item (0..numItems-1); names the row and position of a bad one. */
export function checkItemIds(rows: number[][], numItems: number, what: string): void {
  rows.forEach((r, b) =>
    r.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= numItems)
        throw new Error(`${what}[${b}][${i}]: item id ${id} outside 0..${numItems - 1}`);
    }),
  );
}

/** Picks scores[b][cands[b][j]] into per-row arrays aligned with the candidates. */
export function pickCandidates(all: Float32Array[], candidates: number[][]): Float32Array[] {
  return candidates.map((c, b) => Float32Array.from(c, (id) => all[b][id]));
}

/**
 * Scorer.scoreCandidates for any scorer that scores all items: full scores, then each row's candidates
 * (one implementation for the tfjs and ONNX scorers).
 */
export async function scoreCandidatesViaAll(
  scorer: { numItems: number; scoreAll(h: number[][]): Promise<Float32Array[]> },
  histories: number[][],
  candidates: number[][],
): Promise<Float32Array[]> {
  if (histories.length !== candidates.length) throw new Error(`${histories.length} histories but ${candidates.length} candidate lists`);
  checkItemIds(candidates, scorer.numItems, 'candidates');
  return pickCandidates(await scorer.scoreAll(histories), candidates);
}

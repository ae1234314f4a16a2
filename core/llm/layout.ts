/**
 * Batch layout of token rows for the causal LM: every row is `left` (left-padded block, e.g. the prompt)
 * followed by `right` (right-padded block, e.g. title tokens), so the prompts end at the same slot and
 * the title states line up (docs/methods.md §A6b: the prompt lives outside the prefix tree). Positions count the
 * real tokens before a slot (Hugging Face's `attention_mask.cumsum(-1) - 1`), so padding never changes
 * a row's results; padding keys are masked out of attention.
 */
export interface SeqLayout {
  B: number;
  /** Slots per row. */
  L: number;
  /** Width of the left (prompt) block: slot P-1 is every row's last prompt token. */
  P: number;
  ids: Int32Array; // [B*L], pad slots hold `padId`
  positions: Int32Array; // [B*L]
  valid: Uint8Array; // [B*L]
  /** Number of padding slots before each row's first token. */
  leftPad: Int32Array; // [B]
  /** Number of real tokens in each row's right block. */
  rightLen: Int32Array; // [B]
}

export function layoutRows(left: number[][], right: number[][] | undefined, padId: number, minRight = 0): SeqLayout {
  const B = left.length;
  if (right && right.length !== B) throw new Error(`layout: ${B} prompts but ${right.length} continuations`);
  let P = 0;
  for (const r of left) P = Math.max(P, r.length);
  let R = minRight;
  if (right) for (const r of right) R = Math.max(R, r.length);
  const L = P + R;
  const ids = new Int32Array(B * L).fill(padId);
  const positions = new Int32Array(B * L);
  const valid = new Uint8Array(B * L);
  const leftPad = new Int32Array(B);
  const rightLen = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const l = left[b];
    const off = P - l.length;
    leftPad[b] = off;
    for (let j = 0; j < l.length; j++) {
      ids[b * L + off + j] = l[j];
      valid[b * L + off + j] = 1;
    }
    const r = right?.[b] ?? [];
    rightLen[b] = r.length;
    for (let j = 0; j < r.length; j++) {
      ids[b * L + P + j] = r[j];
      valid[b * L + P + j] = 1;
    }
    let n = 0;
    for (let j = 0; j < L; j++) {
      positions[b * L + j] = Math.max(0, n - (valid[b * L + j] ? 0 : 1));
      if (valid[b * L + j]) {
        positions[b * L + j] = n;
        n++;
      }
    }
  }
  return { B, L, P, ids, positions, valid, leftPad, rightLen };
}

/** Additive attention mask [B, 1, L, L]: query i sees key j iff j ≤ i and j is a real token (a padding query sees itself, so no row is empty). */
export function causalMask(lay: SeqLayout): Float32Array {
  const { B, L, valid } = lay;
  const m = new Float32Array(B * L * L);
  for (let b = 0; b < B; b++) {
    const base = b * L * L;
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        const ok = j <= i && (valid[b * L + j] === 1 || (j === i && valid[b * L + i] === 0));
        if (!ok) m[base + i * L + j] = -1e9;
      }
    }
  }
  return m;
}

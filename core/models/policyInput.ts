/**
 * The Flower policy's input sequence (docs/methods.md §A6): the user's history as item slots (oldest first,
 * left-padded to `maxHistory`, row = item id + 1, 0 = pad), then BOS, then the title tokens (policy ids, padded
 * with padId), and the additive attention mask over it: a position sees the positions up to itself that are real
 * history items or tokens of its row (padding is masked out of attention, the docs/methods.md §A4 "fix": the
 * reference right-pads with EOS without a mask).
 */
import type { PolicyConfig } from './policyBlock';

/** A laid-out batch: B rows of H history slots and T token slots, L = H + T positions. */
export interface PolicyBatch {
  B: number;
  H: number;
  T: number;
  L: number;
  items: Int32Array; // [B, H]
  toks: Int32Array; // [B, T]
  lens: number[]; // valid tokens per row (incl. BOS)
  /** History padding slots before each row's first item. */
  off: Int32Array; // [B]
  mask: Float32Array; // [B, L, L] additive
}

/** Lay out histories (dataset item ids, oldest first; the last maxHistory kept) and token rows (policy ids, BOS not included). */
export function layoutPolicyBatch(cfg: PolicyConfig, histories: number[][], rows: number[][]): PolicyBatch {
  const B = rows.length;
  const H = cfg.maxHistory;
  let T = 1;
  for (const r of rows) T = Math.max(T, r.length + 1);
  if (T > cfg.maxTokens) throw new Error(`title of ${T - 1} tokens exceeds the policy's maxTokens ${cfg.maxTokens - 1}`);
  const L = H + T;
  const items = new Int32Array(B * H);
  const toks = new Int32Array(B * T).fill(cfg.padId);
  const lens: number[] = [];
  const offs = new Int32Array(B);
  const mask = new Float32Array(B * L * L);
  for (let b = 0; b < B; b++) {
    const h = H > 0 ? (histories[b] ?? []).slice(-H) : [];
    const off = H - h.length;
    offs[b] = off;
    for (let j = 0; j < h.length; j++) {
      const id = h[j];
      if (!(id >= 0 && id < cfg.numItems)) throw new Error(`history item id ${id} outside 0..${cfg.numItems - 1}`);
      items[b * H + off + j] = id + 1;
    }
    toks[b * T] = cfg.bosId;
    const r = rows[b];
    for (let t = 0; t < r.length; t++) toks[b * T + 1 + t] = r[t];
    const len = r.length + 1;
    lens.push(len);
    // valid keys: real history slots and tokens < len; causal.
    const base = b * L * L;
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        const valid = j <= i && (j < H ? j >= off : j - H < len);
        if (!valid) mask[base + i * L + j] = -1e9;
      }
    }
  }
  return { B, H, T, L, items, toks, lens, off: offs, mask };
}

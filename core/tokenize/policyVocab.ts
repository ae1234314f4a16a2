/**
 * The policy's output vocabulary (docs/methods.md §A6): pad = 0, bos = 1, then every token id that occurs on an edge
 * of the prefix tree (the titles' tokens and the terminal) plus the tokenizer's terminal, in ascending
 * tokenizer-id order. Maps both ways; an id outside the vocabulary maps to -1.
 */
import type { Tokenizer } from './index';

interface TrieLike {
  readonly token: Int32Array;
  readonly size: number;
  readonly terminalToken?: number;
}

export class PolicyVocab {
  readonly pad = 0;
  readonly bos = 1;
  /** Policy id of the terminal token (the trie's terminal edge: "\n", or EOS for titleEnd "joint"). */
  readonly terminal: number;
  readonly size: number;
  /** policy id -> tokenizer id (-1 for pad / bos). */
  readonly tokenizerIds: Int32Array;
  private readonly policyOf: Int32Array;

  /** `tokenIds`: the tokenizer ids to include (any order, duplicates ignored); `terminalToken` must be one of them or is added. */
  constructor(tokenIds: Iterable<number>, terminalToken: number) {
    const set = new Set<number>(tokenIds);
    set.add(terminalToken);
    const sorted = [...set].filter((t) => t >= 0).sort((a, b) => a - b);
    this.size = sorted.length + 2;
    this.tokenizerIds = new Int32Array(this.size);
    this.tokenizerIds[0] = -1;
    this.tokenizerIds[1] = -1;
    const maxId = sorted.length ? sorted[sorted.length - 1] : 0;
    this.policyOf = new Int32Array(maxId + 1).fill(-1);
    sorted.forEach((t, i) => {
      this.tokenizerIds[i + 2] = t;
      this.policyOf[t] = i + 2;
    });
    this.terminal = this.policyOf[terminalToken];
  }

  /** Policy vocabulary of a trie: its edge tokens + the terminal (+ pad/bos). */
  static fromTrie(trie: TrieLike, tok: Tokenizer): PolicyVocab {
    return new PolicyVocab(trie.token, trie.terminalToken ?? tok.terminalId);
  }

  /** Tokenizer id -> policy id, or -1 if the token is not in the vocabulary. */
  toPolicy(tokId: number): number {
    return tokId >= 0 && tokId < this.policyOf.length ? this.policyOf[tokId] : -1;
  }

  /** Policy id -> tokenizer id (-1 for pad, bos, or out of range). */
  toTokenizer(pid: number): number {
    return pid >= 0 && pid < this.size ? this.tokenizerIds[pid] : -1;
  }

  /** Map a tokenizer-id sequence; throws on an id outside the vocabulary. */
  encode(tokIds: ArrayLike<number>): number[] {
    const out = new Array<number>(tokIds.length);
    for (let i = 0; i < tokIds.length; i++) {
      const p = this.toPolicy(tokIds[i]);
      if (p < 0) throw new Error(`token id ${tokIds[i]} is not in the policy vocabulary`);
      out[i] = p;
    }
    return out;
  }

  /** Map policy ids back to tokenizer ids (pad/bos dropped). */
  decode(pids: ArrayLike<number>): number[] {
    const out: number[] = [];
    for (let i = 0; i < pids.length; i++) {
      const t = this.toTokenizer(pids[i]);
      if (t >= 0) out.push(t);
    }
    return out;
  }

  toJSON(): { tokenizerIds: number[]; terminal: number } {
    return { tokenizerIds: Array.from(this.tokenizerIds.subarray(2)), terminal: this.toTokenizer(this.terminal) };
  }

  /** Rebuild from `toJSON()` (checkpoints). */
  static fromJSON(j: { tokenizerIds: number[]; terminal: number }): PolicyVocab {
    return new PolicyVocab(j.tokenizerIds, j.terminal);
  }
}

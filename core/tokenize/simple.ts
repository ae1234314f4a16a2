/**
 * Tiny corpus-built tokenizers for demos (docs/methods.md §A6: the policy's vocabulary is whatever the titles use).
 * Ids: 0 = "\n" (title terminal, docs/methods.md §A3), 1 = <eos>, 2 = <unk>, then the corpus units in sorted order.
 * `decode(encode(s)) === s` for any text made of units seen in the corpus.
 */
import type { Tokenizer } from './tokenizer';

const NEWLINE = 0;
const EOS = 1;
const UNK = 2;
const SPECIAL = ['\n', '<eos>', '<unk>'];

abstract class VocabTokenizer implements Tokenizer {
  abstract readonly name: string;
  readonly terminalId = NEWLINE;
  readonly eosId = EOS;
  readonly unkId = UNK;
  protected readonly units: string[];
  private readonly idOf = new Map<string, number>();

  constructor(corpus: string[]) {
    const seen = new Set<string>();
    for (const text of corpus) for (const u of this.split(text)) if (u !== '\n') seen.add(u);
    this.units = [...SPECIAL, ...[...seen].sort()];
    this.units.forEach((u, i) => {
      if (i !== EOS && i !== UNK) this.idOf.set(u, i);
    });
  }
  get vocabSize(): number {
    return this.units.length;
  }
  /** The text units (characters or words) of `text`, concatenating back to `text`. */
  protected abstract split(text: string): string[];
  encode(text: string): number[] {
    return this.split(text).map((u) => this.idOf.get(u) ?? UNK);
  }
  decode(ids: number[]): string {
    let s = '';
    for (const id of ids) s += this.units[id] ?? '<unk>';
    return s;
  }
}

/** One token per Unicode code point. */
export class CharTokenizer extends VocabTokenizer {
  readonly name = 'char';
  protected split(text: string): string[] {
    return Array.from(text);
  }
}

/** GPT-2-style word pieces: a word with its leading space, a number, a punctuation run, or a whitespace run. */
const WORD_PATTERN = / ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\n|\s+?(?=\n)|\s+/gu;

export class WordTokenizer extends VocabTokenizer {
  readonly name = 'word';
  protected split(text: string): string[] {
    return text.match(WORD_PATTERN) ?? [];
  }
}

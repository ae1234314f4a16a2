/**
 * Tokenizers for title generation (docs/methods.md §A3): the reference's Qwen2/2.5 tokenizer (exact ids) and two
 * tiny corpus-built tokenizers (`char`, `word`) for demos that must run without a large vocabulary.
 */
import { loadQwenTokenizer } from './qwen';
import { CharTokenizer, WordTokenizer } from './simple';

export interface Tokenizer {
  readonly name: string; // 'qwen2.5' | 'char' | 'word'
  /** Token ids of `text` alone: no BOS, no special tokens (qwen: tok.encode(text, {add_special_tokens: false})). */
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** Id of "\n", the title terminal of docs/methods.md §A3 (qwen: 198). */
  readonly terminalId: number;
  /** End-of-text id (qwen: 151643 = <|endoftext|>), the terminal of the `titleEnd: "joint"` variant (docs/methods.md §A4 fix). */
  readonly eosId: number;
  /** Number of ids the tokenizer can produce (ids are 0..vocabSize-1). */
  readonly vocabSize: number;
}

export type TokenizerName = 'qwen2.5' | 'char' | 'word';
export const TOKENIZER_NAMES: readonly TokenizerName[] = ['qwen2.5', 'char', 'word'];

/**
 * Load a tokenizer. `qwen2.5` is loaded once per process, lazily (the package bundles its vocabulary, so
 * this works offline; it takes about 0.8 s). `char` / `word` build their vocabulary from `corpus`
 * (e.g. the catalogue titles) and require it.
 */
export function loadTokenizer(name: TokenizerName, corpus?: string[]): Tokenizer {
  switch (name) {
    case 'qwen2.5':
      return loadQwenTokenizer();
    case 'char':
    case 'word':
      if (!corpus || corpus.length === 0) throw new Error(`tokenizer "${name}" needs a corpus (e.g. the catalogue titles) to build its vocabulary`);
      return name === 'char' ? new CharTokenizer(corpus) : new WordTokenizer(corpus);
    default:
      throw new Error(`unknown tokenizer "${String(name)}" (known: ${TOKENIZER_NAMES.join(', ')})`);
  }
}

export function isTokenizerName(s: string): s is TokenizerName {
  return (TOKENIZER_NAMES as readonly string[]).includes(s);
}

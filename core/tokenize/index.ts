/**
 * Tokenizers for title generation (docs/methods.md §A3): the reference's Qwen2/2.5 tokenizer (exact ids) and two
 * tiny corpus-built tokenizers (`char`, `word`) for demos that must run without a large vocabulary.
 */
import { loadQwenTokenizer } from './qwen';
import { CharTokenizer, WordTokenizer } from './simple';

import type { Tokenizer } from './tokenizer';
export type { Tokenizer };

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
      if (!corpus || corpus.length === 0)
        throw new Error(`tokenizer "${name}" needs a corpus (e.g. the catalogue titles) to build its vocabulary`);
      return name === 'char' ? new CharTokenizer(corpus) : new WordTokenizer(corpus);
    default:
      throw new Error(`unknown tokenizer "${String(name)}" (known: ${TOKENIZER_NAMES.join(', ')})`);
  }
}

export function isTokenizerName(s: string): s is TokenizerName {
  return (TOKENIZER_NAMES as readonly string[]).includes(s);
}

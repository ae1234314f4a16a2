/** The tokenizer contract every title tokenizer implements (docs/methods.md §A3). */
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

/**
 * The tiny Flower fixtures the policy and objective tests share (tests import this file; it holds no test):
 * a prefix tree of four titles over token ids 5, 6, 7 (terminal 9) with a one-layer d=8 policy over its
 * vocabulary, a distribution-mode `flower` config on a few titles with the char tokenizer that runs in seconds, a
 * recommend-mode one on a few rows of an Amazon dataset, and a toy tokenizer of character codes for hand-built trees.
 */
import type { PolicyConfig } from '../../core/models/policy';
import type { Tokenizer } from '../../core/tokenize';
import { PolicyVocab } from '../../core/tokenize/policyVocab';
import { PrefixTree } from '../../core/trie';

export const TERM = 9;

/** A toy tokenizer: one id per character code (terminal "\n" = 10, eos = 0). */
export const charCodes: Tokenizer = {
  name: 'codes',
  terminalId: 10,
  eosId: 0,
  vocabSize: 256,
  encode: (s) => Array.from(s, (c) => c.charCodeAt(0)),
  decode: (ids) => String.fromCharCode(...ids),
};

/** Titles ab, ac, c, abc (token ids 5,6 / 5,7 / 7 / 5,6,7, then the terminal 9; counts 2, 1, 1, 3) and a policy config over them. */
export function tinyPolicySetup(opts: { maxHistory?: number; dropout?: number } = {}) {
  const trie = PrefixTree.fromTokenIds(
    ['ab', 'ac', 'c', 'abc'],
    [
      [5, 6, 9],
      [5, 7, 9],
      [7, 9],
      [5, 6, 7, 9],
    ],
    [2, 1, 1, 3],
    TERM,
  );
  const vocab = PolicyVocab.fromTrie(trie, { terminalId: TERM } as Parameters<typeof PolicyVocab.fromTrie>[1]);
  const cfg: PolicyConfig = {
    vocabSize: vocab.size,
    numItems: 6,
    dModel: 8,
    layers: 1,
    heads: 2,
    ffn: 16,
    maxHistory: opts.maxHistory ?? 3,
    maxTokens: 8,
    dropout: opts.dropout ?? 0,
    padId: vocab.pad,
    bosId: vocab.bos,
  };
  return { trie, vocab, cfg };
}

/**
 * A distribution-mode `flower` config (char tokenizer, a one-layer d=16 policy, titles from `titles.json` beside the
 * config) that runs in seconds; `extra` overrides any key.
 */
export function tinyFlowerConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'flower',
    mode: 'distribution',
    titles: 'titles.json',
    tokenizer: 'char',
    objective: 'flower',
    theta: 0.5,
    policy: { dModel: 16, layers: 1, heads: 2, ffn: 32, dropout: 0 },
    trainSamples: 32,
    batchSize: 16,
    epochs: 2,
    lr: 0.01,
    warmupSteps: 0,
    lrSchedule: 'constant',
    patience: 0,
    distribution: { samples: 1000 },
    snapshotNodes: 20,
    seed: 7,
    ...extra,
  };
}

/**
 * A recommend-mode `flower` config on an Amazon dataset folder, small enough for a test: `rows` training, validation
 * and test rows, a one-layer d=16 policy, `beams` beams returning as many titles, no trie snapshot; `extra` adds or
 * overrides keys.
 */
export function tinyRecommendConfig(
  dataset: string,
  rows: { train: number; valid: number; test: number },
  beams: number,
  extra: Record<string, unknown> = {},
): Record<string, any> {
  return {
    kind: 'flower',
    dataset,
    maxTrainRows: rows.train,
    maxValidRows: rows.valid,
    maxTestRows: rows.test,
    policy: { dModel: 16, layers: 1, heads: 2, ffn: 32 },
    decoding: { beams, returned: beams },
    snapshotNodes: 0,
    ...extra,
  };
}

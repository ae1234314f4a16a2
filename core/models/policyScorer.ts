/**
 * Scorer (core/models/scorer.ts) over a trained Flower policy checkpoint — docs/methods.md §B3 "compute priors
 * live from any base model (SASRec, GRU4Rec, Caser, the Flower policy, an ONNX model)".
 *
 * A candidate item's score is its title's log-probability under the policy given the user's history,
 * scored exactly as the policy ranks its own recommendations (docs/methods.md §A7 beam search): full-vocabulary
 * log-probs at temperature 1 (not renormalised over the prefix tree), Σ log p over the title's tokens
 * INCLUDING the terminal token, divided by that token count ^ `lengthPenalty`. The default
 * `lengthPenalty` 1 is A7's (the length-normalised score beam search returns, so the prior is the
 * candidate beam search would rank first among the candidates); 0 gives the total log-probability
 * (A7's D3 setting). A title with a token outside the policy's vocabulary cannot be generated: −∞.
 *
 * Items are scored by title, so the scorer needs the catalogue the policy was trained on (item id →
 * title; history ids are the policy's item-id embeddings, docs/methods.md §A6). It comes from `catalogue`,
 * from `dataset` (an Amazon folder with items.tsv), or from the run folder the checkpoint sits in
 * (its config.json names the dataset). A catalogue of another dataset is refused: its ids and titles
 * would not be the items the policy learned.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import type { Catalogue } from '../data/catalogue';
import { LocatedError } from '../experiment/context';
import { readCheckpoint, resolveCheckpoint, transformerConfig, type CheckpointManifest } from './policyCheckpoint';
import { isTokenizerName, loadTokenizer, type Tokenizer } from '../tokenize';
import { PolicyVocab } from '../tokenize/policyVocab';
import { titleTokens, type TitleEnd } from '../trie';
import { TransformerPolicy } from './policy';
import { initBackend, getTf } from '../tensor';
import type { Scorer } from './scorer';

export const FLOWER_CHECKPOINT_FORMAT = 'flowloop-flower-checkpoint/1';

export interface PolicyScorerOptions {
  /** Item id → title of the dataset the policy was trained on. */
  catalogue?: Catalogue;
  /** Amazon dataset folder (items.tsv) the policy was trained on; used when `catalogue` is absent. */
  dataset?: string;
  /** Tensor backend (config `device`). */
  device?: 'auto' | 'gpu' | 'cpu' | 'wasm';
  /** Score = Σ log p / tokens^lengthPenalty (docs/methods.md §A7; default 1 = length-normalised, 0 = total). */
  lengthPenalty?: number;
}

/**
 * The Flower checkpoint folder `path` stands for (a checkpoint folder, a run folder or its
 * checkpoints/ folder), or undefined when it is not one (e.g. a SASRec weights folder).
 */
export function flowerCheckpointDir(path: string): string | undefined {
  if (!existsSync(path) || !statSync(path).isDirectory()) return undefined;
  const format = (dir: string): unknown => {
    try {
      return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).format;
    } catch {
      return undefined;
    }
  };
  if (existsSync(join(path, 'manifest.json'))) return format(path) === FLOWER_CHECKPOINT_FORMAT ? path : undefined;
  let dir: string;
  try {
    dir = resolveCheckpoint(path);
  } catch {
    return undefined;
  }
  return format(dir) === FLOWER_CHECKPOINT_FORMAT ? dir : undefined;
}

/** The run folder above a checkpoint (`<run>/checkpoints[/<tag>]/epoch-N`) with its config.json and run.json, if any. */
function runOf(checkpointDir: string): { config: Record<string, unknown>; configDir: string; runDir: string } | undefined {
  let d = resolve(checkpointDir);
  for (let up = 0; up < 4; up++) {
    d = dirname(d);
    if (existsSync(join(d, 'config.json')) && existsSync(join(d, 'run.json'))) {
      try {
        const config = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
        const run = JSON.parse(readFileSync(join(d, 'run.json'), 'utf8'));
        return { config, configDir: typeof run.configPath === 'string' ? dirname(run.configPath) : d, runDir: d };
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Catalogue and tokenizer corpus for a checkpoint (see the file comment for the order of sources). */
async function catalogueFor(
  dir: string,
  manifest: CheckpointManifest,
  opts: PolicyScorerOptions,
): Promise<{ catalogue: Catalogue; corpus: string[]; source: string }> {
  const { readItemsTsv } = await import('../data/amazon');
  const fromFolder = (ds: string, why: string) => {
    const items = join(ds, 'items.tsv');
    if (!existsSync(items)) throw new LocatedError(`Flower policy scorer: no items.tsv in the dataset folder (${why})`, ds);
    return readItemsTsv(items);
  };
  let catalogue = opts.catalogue;
  let source = 'the catalogue given';
  let rewardTitles: string[] = [];
  const run = runOf(dir);
  if (!catalogue && opts.dataset) {
    catalogue = fromFolder(resolve(opts.dataset), 'option dataset');
    source = resolve(opts.dataset);
  }
  if (!catalogue && run) {
    if (typeof run.config.dataset !== 'string')
      throw new LocatedError(
        'Flower policy scorer: the run that wrote this checkpoint has no "dataset" (a distribution-mode policy has no items to score); give a catalogue',
        join(run.runDir, 'config.json'),
      );
    const ds = resolve(run.configDir, run.config.dataset);
    catalogue = fromFolder(ds, `"dataset" of ${join(run.runDir, 'config.json')}`);
    source = ds;
    // the char/word tokenizers were built from the catalogue titles plus the reward file's titles (core/flower/setup.ts)
    const rewards = typeof run.config.rewards === 'string' ? resolve(run.configDir, run.config.rewards) : join(ds, 'title_counts.json');
    if (existsSync(rewards)) {
      const { readRewardFile } = await import('../trie');
      rewardTitles = readRewardFile(rewards).titles;
    }
  }
  if (!catalogue)
    throw new LocatedError(
      'Flower policy scorer: which items? Give the catalogue (option catalogue / dataset) or keep the checkpoint inside the run folder that wrote it (its config.json names the dataset)',
      dir,
    );
  const trained = String(manifest.setup?.dataset ?? '');
  if (trained && catalogue.name !== trained) {
    throw new LocatedError(
      `this Flower policy was trained on "${trained}", the catalogue is "${catalogue.name}": its item ids and titles are not the items the policy learned (a Flower policy scores only the dataset it was trained on)`,
      dir,
    );
  }
  return { catalogue, corpus: [...catalogue.titles(), ...rewardTitles], source };
}

export class FlowerPolicyScorer implements Scorer {
  readonly numItems: number;
  private readonly rows = new Map<number, number[] | null>();
  /** Catalogue titles whose tokens leave the policy vocabulary (scored −∞). */
  readonly unexpressible: number;

  private constructor(
    readonly policy: TransformerPolicy,
    private readonly vocab: PolicyVocab,
    private readonly tok: Tokenizer,
    private readonly titleEnd: TitleEnd,
    private readonly catalogue: Catalogue,
    readonly lengthPenalty: number,
    readonly name: string,
    readonly description: string,
    unexpressible: number,
  ) {
    this.numItems = policy.cfg.numItems;
    this.unexpressible = unexpressible;
  }

  /** Open a Flower checkpoint (checkpoint folder, run folder or checkpoints/ folder) as a Scorer. */
  static async load(path: string, opts: PolicyScorerOptions = {}): Promise<FlowerPolicyScorer> {
    const dir = flowerCheckpointDir(path);
    if (!dir)
      throw new LocatedError(
        `not a Flower checkpoint (expected manifest.json with format ${FLOWER_CHECKPOINT_FORMAT}, or a run folder with checkpoints/epoch-N)`,
        path,
      );
    const lengthPenalty = opts.lengthPenalty ?? 1;
    if (!(lengthPenalty >= 0)) throw new LocatedError(`lengthPenalty must be ≥ 0 (got ${lengthPenalty})`, dir);
    const { manifest, tensors } = readCheckpoint(dir);
    const { catalogue, corpus, source } = await catalogueFor(dir, manifest, opts);
    if (!isTokenizerName(manifest.tokenizer))
      throw new LocatedError(`unknown tokenizer "${manifest.tokenizer}" in the checkpoint`, join(dir, 'manifest.json'));
    const tok = loadTokenizer(manifest.tokenizer, corpus);
    const vocab = PolicyVocab.fromJSON(manifest.vocab);
    const titleEnd: TitleEnd = manifest.titleEnd === 'joint' ? 'joint' : 'separate';
    const cfg = transformerConfig(manifest, join(dir, 'manifest.json'));
    let maxId = -1;
    for (const id of catalogue.ids()) maxId = Math.max(maxId, id);
    if (cfg.maxHistory > 0 && maxId >= cfg.numItems)
      throw new LocatedError(
        `catalogue ${catalogue.name} has item id ${maxId}, the policy knows item ids 0..${cfg.numItems - 1}: not the catalogue it was trained on`,
        dir,
      );
    const backend = await initBackend(opts.device ?? 'auto');
    const policy = new TransformerPolicy(cfg, 0, tensors);
    const name = basename(runOf(dir)?.runDir ?? dir);
    const scorer = new FlowerPolicyScorer(policy, vocab, tok, titleEnd, catalogue, lengthPenalty, name, '', 0);
    // Every catalogue title of the training catalogue is in the policy's tree; many that are not = wrong tokenizer corpus or catalogue.
    let missing = 0;
    for (const id of catalogue.ids()) if (scorer.tokens(id) === null) missing++;
    if (missing > catalogue.size / 2) {
      policy.dispose();
      throw new LocatedError(
        `${missing} of ${catalogue.size} titles of ${source} use tokens outside the policy's vocabulary: not the catalogue (or tokenizer corpus) the policy was trained on`,
        dir,
      );
    }
    const how =
      lengthPenalty === 1
        ? 'length-normalised title log-prob'
        : lengthPenalty === 0
          ? 'total title log-prob'
          : `title log-prob / tokens^${lengthPenalty}`;
    const description = `Flower policy (checkpoint epoch ${manifest.epoch} of ${manifest.setup?.dataset ?? catalogue.name}, ${how}, ${manifest.tokenizer} tokens, tfjs ${backend.name})${missing ? `; ${missing} catalogue titles outside its vocabulary score −∞` : ''}`;
    return new FlowerPolicyScorer(policy, vocab, tok, titleEnd, catalogue, lengthPenalty, name, description, missing);
  }

  /** Policy-id tokens of an item's title including the terminal (docs/methods.md §A3 path), or null when it cannot be generated. */
  tokens(id: number): number[] | null {
    let r = this.rows.get(id);
    if (r !== undefined) return r;
    const title = this.catalogue.title(id);
    r = null;
    if (title !== undefined) {
      const ids = titleTokens(this.tok, title, this.titleEnd).map((t) => this.vocab.toPolicy(t));
      if (ids.every((p) => p >= 0) && ids.length <= this.policy.cfg.maxTokens) r = ids;
    }
    this.rows.set(id, r);
    return r;
  }

  /** Scores over item ids 0..numItems-1 (ids without a catalogue title: −∞). One title per item: costly on large catalogues. */
  async scoreAll(histories: number[][]): Promise<Float32Array[]> {
    const all = Array.from({ length: this.numItems }, (_, i) => i);
    return this.scoreCandidates(
      histories,
      histories.map(() => all),
    );
  }

  /** docs/methods.md §B3 prior scores: each candidate's title log-prob given the history (see the file comment). */
  async scoreCandidates(histories: number[][], candidates: number[][]): Promise<Float32Array[]> {
    if (histories.length !== candidates.length)
      throw new Error(`scoreCandidates: ${histories.length} histories but ${candidates.length} candidate lists`);
    const out = candidates.map((c) => new Float32Array(c.length).fill(-Infinity));
    const jobs: { b: number; k: number; seq: number[] }[] = [];
    candidates.forEach((cs, b) =>
      cs.forEach((id, k) => {
        const seq = this.tokens(id);
        if (seq) jobs.push({ b, k, seq });
      }),
    );
    const V = this.policy.cfg.vocabSize;
    const budget = 8_000_000; // log-prob floats per forward pass ([rows·T, V])
    for (let s = 0; s < jobs.length;) {
      let T = 1,
        n = 0;
      while (s + n < jobs.length) {
        const t = Math.max(T, jobs[s + n].seq.length);
        if (n > 0 && (n + 1) * t * V > budget) break;
        T = t;
        n++;
      }
      const part = jobs.slice(s, s + n);
      const sums = await this.sequenceLogProbs(
        part.map((j) => histories[j.b]),
        part.map((j) => j.seq),
      );
      part.forEach((j, i) => {
        out[j.b][j.k] = sums[i] / Math.pow(j.seq.length, this.lengthPenalty);
      });
      s += n;
    }
    return out;
  }

  /** Σ_t log π(y_t | history, BOS, y_<t) over each full token row (terminal included), full vocabulary. */
  private async sequenceLogProbs(histories: number[][], seqs: number[][]): Promise<Float64Array> {
    const tf = getTf();
    const inputs = seqs.map((y) => y.slice(0, -1));
    const picked = tf.tidy(() => {
      const { logp, T } = this.policy.logProbsAll(histories, inputs);
      const V = this.policy.cfg.vocabSize;
      const idx: number[] = [];
      seqs.forEach((y, r) => y.forEach((tokId, t) => idx.push((r * T + t) * V + tokId)));
      return tf.gather(logp.reshape([-1]) as TF.Tensor1D, tf.tensor1d(idx, 'int32'));
    });
    const vals = (await picked.data()) as Float32Array;
    picked.dispose();
    const sums = new Float64Array(seqs.length);
    let o = 0;
    seqs.forEach((y, r) => {
      for (let t = 0; t < y.length; t++) sums[r] += vals[o++];
    });
    return sums;
  }

  dispose(): void {
    this.policy.dispose();
  }
}
